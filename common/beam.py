"""What the Apache Beam stages share: options from ``--runner``/``--beam-option``, per-file work
isolated inside the workers, and the JSON lines a pipeline hands back to the command that ran it.

Beam is an optional extra (``pip install 'pianorbm[beam]'``); it is imported only here and in the
stages that use it, so a local run never needs it.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager, nullcontext
from typing import Callable

from pianorbm.common import storage
from pianorbm.common.quiet import stderr_held_back

BATCH = 32  # files per call into a worker's isolated process: amortises the round trip


class BeamSetupError(Exception):
    """Beam is missing or its options are malformed: the message says what to do."""


def import_beam():
    try:
        with stderr_held_back() if _quiet() else nullcontext():  # it warns about cloud clients it lacks
            import apache_beam
    except ImportError as err:
        raise BeamSetupError("--runner needs Apache Beam, an optional extra: pip install 'pianorbm[beam]' "
                             "(in a checkout: pip install -e '.[beam]')") from err
    return apache_beam


def _quiet() -> bool:
    """Beam talks only when its logger was set to INFO or lower (``pianorbm -v`` does)."""
    return not logging.getLogger("apache_beam").isEnabledFor(logging.INFO)


def pipeline_options(runner: str, beam_options: tuple[str, ...] = (), jobs: int | None = None):
    """Beam's PipelineOptions for ``runner`` and KEY=VALUE pairs (Beam's own option names, e.g.
    ``project=my-project``, ``flink_master=host:8081``). The DirectRunner runs multi-process, one
    worker per core unless ``--jobs`` or its own options say otherwise."""
    import_beam()
    quiet = _quiet()
    from apache_beam.options.pipeline_options import PipelineOptions

    flags, keys = [f"--runner={runner}"], set()
    for item in beam_options:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key:
            raise BeamSetupError(f"--beam-option takes KEY=VALUE (a Beam pipeline option), not {item!r}")
        flags.append(f"--{key}={value}")
        keys.add(key)
    if quiet and "default_sdk_harness_log_level" not in keys:
        flags.append("--default_sdk_harness_log_level=WARNING")
    if runner in ("DirectRunner", "direct"):
        if "direct_running_mode" not in keys:
            flags.append("--direct_running_mode=multi_processing")
        if "direct_num_workers" not in keys:
            flags.append(f"--direct_num_workers={jobs or os.cpu_count() or 1}")
    return PipelineOptions(flags)


@contextmanager
def beam_pipeline(options):
    """A Beam pipeline, run when the block ends. Unless Beam's logger is at INFO, what Beam and its
    worker processes print is held back, and shown only if the run fails."""
    beam = import_beam()
    with stderr_held_back() if _quiet() else nullcontext():
        with beam.Pipeline(options=options) as pipeline:
            yield pipeline


def isolated_calls(func: Callable, timeout_s: float, memory_mb: int):
    """A DoFn that maps ``func`` over a batch of argument tuples in one isolated worker process
    (common.isolation.IsolatedPool: a time limit, a memory cap, a crash fails one element), so a
    hostile file is as harmless inside a Beam worker as in a local run. Emits (args, result or
    Failure)."""
    beam = import_beam()
    from pianorbm.common.isolation import IsolatedPool

    class IsolatedCalls(beam.DoFn):
        def setup(self):
            self.pool = IsolatedPool(func, 1, timeout_s, memory_mb)

        def process(self, batch):
            for _, args, outcome in self.pool.map(list(batch)):
                yield args, outcome

    return IsolatedCalls()


def batched(beam, label: str):
    """Reshuffle (spread the files over the workers), then batches of up to BATCH elements."""
    return (f"{label}: spread" >> beam.Reshuffle()) | f"{label}: batch" >> beam.BatchElements(
        min_batch_size=BATCH, max_batch_size=BATCH)


def write_lines(beam, label: str, prefix: str):
    """A transform writing dicts as sharded JSON lines under ``prefix`` (read back by read_lines)."""
    return (f"{label}: json" >> beam.Map(lambda item: json.dumps(item, sort_keys=True))) \
        | f"{label}: write" >> beam.io.WriteToText(prefix, file_name_suffix=".jsonl")


def read_lines(prefix: str) -> list[dict]:
    from apache_beam.io.filesystems import FileSystems

    rows = []
    for result in FileSystems.match([prefix + "*.jsonl"]):
        for item in sorted(result.metadata_list, key=lambda m: m.path):
            rows += [json.loads(line) for line in storage.read_bytes(item.path).decode("utf-8").splitlines() if line]
    return rows


def clear_lines(prefix: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    found = [item.path for result in FileSystems.match([prefix + "*"]) for item in result.metadata_list]
    storage.delete(found)
