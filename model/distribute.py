"""Training on several devices or machines with tf.distribute, batch for batch what one device does.

``--distribute mirrored`` uses MirroredStrategy over the local GPUs (or, without GPUs, the local
CPU devices); ``multi-worker`` uses MultiWorkerMirroredStrategy across the machines that
``TF_CONFIG`` names. Each batch of whole pieces (``--batch-size`` rows: the global batch) is cut
into one contiguous block of rows per replica; every replica draws the random numbers one device
would draw for its rows (model.rbm.stream_states, the conditioner's dropout), weighs its cost by
the batch's real frames, and Keras's optimizer sums the replicas' gradients, so a step equals the
single-device step up to the order of float additions (tested on two logical CPU devices).

``PIANORBM_LOGICAL_CPUS=N`` splits the CPU into N logical devices when there is no GPU: a
multi-device run rehearsed on one machine.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from pianorbm.model.config import DISTRIBUTE

LOGICAL_CPUS_ENV = "PIANORBM_LOGICAL_CPUS"


class DistributeError(Exception):
    """A strategy that cannot be set up here; the message says why."""


def _logical_cpus(tf) -> None:
    count = int(os.environ.get(LOGICAL_CPUS_ENV) or 0)
    if count < 2 or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as err:
        raise DistributeError(f"{LOGICAL_CPUS_ENV}={count} must be set before TensorFlow starts its devices "
                              f"(set it in the environment of the process): {err}") from err


def make_strategy(kind: str):
    """The tf.distribute strategy for ``kind`` (None for ``none``)."""
    from pianorbm.common.quiet import tf

    if kind == "none":
        return None
    if kind not in DISTRIBUTE:
        raise DistributeError(f"unknown --distribute {kind!r}; choose one of {DISTRIBUTE}")
    _logical_cpus(tf)
    if kind == "multi-worker":
        if not os.environ.get("TF_CONFIG"):
            raise DistributeError("--distribute multi-worker needs TF_CONFIG (the cluster and this worker's task) "
                                  "in the environment of every worker; see the README")
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
        [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) > 1 and not tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy(devices)


def is_chief(strategy) -> bool:
    """Whether this process writes the run folder: always, except on a multi-worker cluster's
    workers other than the chief (or worker 0 when the cluster names no chief)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if strategy is None or not config:
        return True
    task, cluster = config.get("task", {}), config.get("cluster", {})
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


class ReplicaBatches:
    """Runs ``model.chunk_step`` for the chunks of one batch of whole pieces, split over replicas."""

    def __init__(self, strategy, model):
        from pianorbm.common.quiet import tf

        self.strategy, self.model, self.replicas = strategy, model, strategy.num_replicas_in_sync

        def step(frames, lengths, carried, first, replica_rows, total_frames):
            cost, monitor, final = strategy.run(model.chunk_step,
                                                args=(frames, lengths, carried, first, replica_rows, total_frames))
            cost = strategy.reduce(tf.distribute.ReduceOp.SUM, cost, axis=None)
            monitor = strategy.reduce(tf.distribute.ReduceOp.SUM, monitor, axis=None)
            return model._track(cost, monitor, total_frames), final

        self.step = tf.function(step)

    def _per_replica(self, array: np.ndarray, rows: int):
        from pianorbm.common.quiet import tf

        return self.strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(array[context.replica_id_in_sync_group * rows:
                                              (context.replica_id_in_sync_group + 1) * rows]))

    def run(self, rolls: np.ndarray, lengths: np.ndarray, chunks) -> dict:
        """Trains on every chunk of a batch (rows padded with empty ones to a multiple of the
        replicas); ``chunks(rolls, lengths)`` yields (frames, chunk lengths) as for one device."""
        from pianorbm.common.quiet import tf

        rows = math.ceil(len(lengths) / self.replicas)
        padding = rows * self.replicas - len(lengths)
        if padding:
            rolls = np.concatenate([rolls, np.zeros((padding, *rolls.shape[1:]), rolls.dtype)])
            lengths = np.concatenate([lengths, np.zeros(padding, lengths.dtype)])
        offsets = np.arange(self.replicas, dtype=np.int32)[:, None] * rows
        replica_rows = self.strategy.experimental_distribute_values_from_function(
            lambda context: (tf.constant(int(offsets[context.replica_id_in_sync_group, 0])),
                             tf.constant(rows * self.replicas)))
        zeros = np.zeros((rows * self.replicas, self.model.recurrent_units), np.float32)
        carried = [self._per_replica(zeros, rows) for _ in range(self.model.conditioner.state_count)]
        first, metrics = True, None
        for frames, chunk_lengths in chunks(rolls, lengths):
            metrics, carried = self.step(self._per_replica(frames, rows), self._per_replica(chunk_lengths, rows),
                                         carried, tf.constant(first), replica_rows,
                                         tf.constant(int(chunk_lengths.sum()), tf.int64))
            first = False
        return metrics
