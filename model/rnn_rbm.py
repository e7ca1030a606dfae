"""The RNN-RBM (Boulanger-Lewandowski, Bengio & Vincent, 2012) and its GRU and LSTM variants.

At step t an RBM models frame v_t with biases from the recurrent state after the frames before it:
bv_t = bv + Wuv u_{t-1}, bh_t = bh + Wuh u_{t-1}. In training the states depend only on the data,
so the conditioner runs once over each sequence and the CD-k chains of all B x T frames run in
parallel. The cost is the CD-k estimate mean F(v) - mean F(v~) with v~ the chains' samples under
stop-gradient; its gradient is the CD-k update for every parameter, the conditioner's included.
The monitor is the tutorial's: the cross-entropy of the data against its one-step reconstruction,
summed over keys and averaged over frames (nats per frame).

All randomness is stateless, seeded by (``seed``, step counter): a run is reproducible with a
seed, and a resumed run continues the same random stream.
"""

from __future__ import annotations

from pianorbm.common.quiet import keras
import numpy as np
from pianorbm.common.quiet import tf

from pianorbm.model.conditioners import Conditioner
from pianorbm.model.rbm import RBM, SAMPLERS

MIN_KEY_PROBABILITY = 1e-4  # floor on key frequencies: a key never seen in training is not impossible


@keras.saving.register_keras_serializable(package="pianorbm")
class RnnRbm(keras.Model):
    """Paper defaults: RBM hidden 150, recurrent 100, CD-15."""

    def __init__(self, visible: int = 88, hidden: int = 150, recurrent: int = 100, cell: str = "rnn",
                 k: int = 15, sampler: str = "xorshift", learned_initial_state: bool = True, seed: int = 0,
                 conditioner_dtype: str | None = None, data_description: dict | None = None, dropout: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")
        self.visible, self.hidden, self.recurrent_units = visible, hidden, recurrent
        self.cell, self.k, self.sampler, self.seed = cell, k, sampler, seed
        self.learned_initial_state, self.conditioner_dtype = learned_initial_state, conditioner_dtype
        self.data_description = data_description  # the grid and records it was trained on (an exported model)
        self.rbm = RBM(visible, hidden, name="rbm")
        self.dropout = dropout
        self.conditioner = Conditioner(cell, recurrent, learned_initial_state, dropout=dropout, name="conditioner",
                                       dtype=conditioner_dtype)
        small = keras.initializers.RandomNormal(stddev=1e-4)
        self.to_visible_bias = keras.layers.Dense(visible, use_bias=False, kernel_initializer=small, name="Wuv")
        self.to_hidden_bias = keras.layers.Dense(hidden, use_bias=False, kernel_initializer=small, name="Wuh")
        self.cost_tracker = keras.metrics.Mean(name="cost")
        self.monitor_tracker = keras.metrics.Mean(name="monitor")
        self.build((None, None, visible))

    def build(self, input_shape):
        self.rbm.build(None)
        self.conditioner.build(input_shape)
        self.to_visible_bias.build((None, self.recurrent_units))
        self.to_hidden_bias.build((None, self.recurrent_units))
        self.built = True

    def get_config(self):
        return {"visible": self.visible, "hidden": self.hidden, "recurrent": self.recurrent_units,
                "cell": self.cell, "k": self.k, "sampler": self.sampler,
                "learned_initial_state": self.learned_initial_state, "seed": self.seed,
                "conditioner_dtype": self.conditioner_dtype, "data_description": self.data_description,
                "dropout": self.dropout,
                "name": self.name}

    @property
    def metrics(self):
        return [self.cost_tracker, self.monitor_tracker]

    def biases(self, states):
        """Per-step RBM biases from recurrent states u_{t-1}: (..., 88) and (..., hidden)."""
        states = tf.cast(states, tf.float32)  # a mixed-precision conditioner computes in float16
        return self.rbm.bv + self.to_visible_bias(states), self.rbm.bh + self.to_hidden_bias(states)

    def call(self, frames, training=None, dropout_seed=None):
        """frames (B, T, 88) -> the RBM biases of every step, (B, T, 88) and (B, T, hidden)."""
        return self.biases(self.conditioner(frames, training=training, dropout_seed=dropout_seed))

    def conditioned(self, frames, initial_states, training=None, dropout_seed=None, replica_rows=None):
        """(bv, bh, states after the last frame) of a chunk of pieces whose recurrent state so far is
        ``initial_states``."""
        before, final = self.conditioner(frames, training=training, initial_states=initial_states, return_states=True,
                                         dropout_seed=dropout_seed, replica_rows=replica_rows)
        return (*self.biases(before), final)

    def _seed(self, counter):
        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(counter, tf.int64)])

    def set_visible_bias_from_frequencies(self, frequencies: np.ndarray) -> None:
        """Initialises bv to the logit of each key's frequency in the data (Hinton's practical guide)."""
        p = np.clip(np.asarray(frequencies, dtype=np.float64), MIN_KEY_PROBABILITY, 1 - MIN_KEY_PROBABILITY)
        self.rbm.bv.assign(np.log(p / (1 - p)).astype(np.float32))

    def cd_cost(self, frames, counter, training: bool = True, lengths=None, biases=None, first_row=0,
                total_frames=None):
        """(cost, monitor) of a batch of frames (B, T, 88); ``counter`` seeds the chains.

        With ``lengths`` (B,), only the first ``lengths[b]`` frames of window b count (the rest is
        padding); both figures are then means over the real frames. ``biases`` (bv, bh) replaces the
        conditioner's run from the initial state (a chunk that carries a state in). A replica holding
        rows ``first_row``.. of a batch split over devices passes the batch's ``total_frames``: its
        figures are then its share of the batch's means, which add up over the replicas.
        """
        seed = self._seed(counter)
        bv, bh = self(frames, training=training, dropout_seed=seed) if biases is None else biases
        v = tf.reshape(frames, [-1, self.visible])
        bv = tf.reshape(bv, [-1, self.visible])
        bh = tf.reshape(bh, [-1, self.hidden])
        negative, _, reconstruction = self.rbm.gibbs(tf.stop_gradient(v), tf.stop_gradient(bv),
                                                     tf.stop_gradient(bh), self.k, seed, self.sampler,
                                                     first_row=first_row * tf.shape(frames)[1])
        negative = tf.stop_gradient(negative)
        if lengths is None:
            weights = tf.fill([tf.shape(v)[0]], 1.0 / tf.cast(tf.shape(v)[0], tf.float32))
        else:
            mask = tf.reshape(tf.sequence_mask(lengths, tf.shape(frames)[1], tf.float32), [-1])
            total = tf.reduce_sum(mask) if total_frames is None else tf.cast(total_frames, tf.float32)
            weights = mask / tf.maximum(total, 1.0)
        cost = tf.reduce_sum(weights * (self.rbm.free_energy(v, bv, bh) - self.rbm.free_energy(negative, bv, bh)))
        reconstruction = tf.clip_by_value(tf.stop_gradient(reconstruction), 1e-7, 1 - 1e-7)
        monitor = -tf.reduce_sum(weights * tf.reduce_sum(v * tf.math.log(reconstruction)
                                                         + (1 - v) * tf.math.log(1 - reconstruction), axis=-1))
        return cost, monitor

    @staticmethod
    def unpack_batch(batch):
        """A batch is windows (B, T, 88), or (windows, lengths) for padded windows."""
        return batch if isinstance(batch, (tuple, list)) else (batch, None)

    def train_step(self, batch):
        frames, lengths = self.unpack_batch(batch)
        with tf.GradientTape() as tape:
            cost, monitor = self.cd_cost(frames, self.optimizer.iterations, lengths=lengths)
        gradients = tape.gradient(cost, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return self._track(cost, monitor)

    def _track(self, cost, monitor, frames=None):
        """Adds a batch's figures to the epoch's running means (weighted by its real frames when given)."""
        self.cost_tracker.update_state(cost, sample_weight=frames)
        self.monitor_tracker.update_state(monitor, sample_weight=frames)
        return {"cost": self.cost_tracker.result(), "monitor": self.monitor_tracker.result()}

    def chunk_states(self, batch_size, carried, first):
        """The state a chunk starts from: the learned initial state for a batch's first chunk, else
        the state the previous chunk ended in (no gradient flows back into an earlier chunk)."""
        initial = self.conditioner.initial_states(batch_size)
        return [tf.where(first, start, tf.cast(tf.stop_gradient(state), start.dtype))
                for start, state in zip(initial, carried)]

    def train_chunk(self, frames, lengths, carried, first):
        """One optimizer step on a chunk of whole pieces (truncated backpropagation through time);
        returns the metrics and the states to carry into the next chunk."""
        cost, monitor, final = self.chunk_step(frames, lengths, carried, first)
        return self._track(cost, monitor, tf.reduce_sum(lengths)), final

    def chunk_step(self, frames, lengths, carried, first, replica_rows=None, total_frames=None):
        """The optimizer step of train_chunk, also as one replica's part of a batch split over
        devices (``replica_rows``: its first row and the batch's rows; ``total_frames``: the batch's
        real frames). Returns (cost, monitor, final states); under a tf.distribute strategy Keras's
        optimizer sums the replicas' gradients, so the step equals one device's on the whole batch."""
        with tf.GradientTape() as tape:
            states = self.chunk_states(tf.shape(frames)[0], carried, first)
            bv, bh, final = self.conditioned(frames, states, training=True,
                                             dropout_seed=self._seed(self.optimizer.iterations),
                                             replica_rows=replica_rows)
            cost, monitor = self.cd_cost(frames, self.optimizer.iterations, lengths=lengths, biases=(bv, bh),
                                         first_row=0 if replica_rows is None else replica_rows[0],
                                         total_frames=total_frames)
        gradients = tape.gradient(cost, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return cost, monitor, final

    def validation_chunk(self, frames, lengths, carried, first):
        """The metrics of a chunk of whole pieces without training (validation); returns the states."""
        states = self.chunk_states(tf.shape(frames)[0], carried, first)
        bv, bh, final = self.conditioned(frames, states, training=False)
        cost, monitor = self.cd_cost(frames, -1 - self.monitor_tracker.count, training=False, lengths=lengths,
                                     biases=(bv, bh))
        return self._track(cost, monitor, tf.reduce_sum(lengths)), final

    def test_step(self, batch):  # Keras's name for a step without training (here: validation)
        frames, lengths = self.unpack_batch(batch)
        cost, monitor = self.cd_cost(frames, -1 - self.monitor_tracker.count, training=False, lengths=lengths)
        return self._track(cost, monitor)
