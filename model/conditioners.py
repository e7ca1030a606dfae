"""The recurrent conditioners: what turns the frames before t into the RBM's biases at t.

``CELLS`` maps a name to a Keras recurrent layer: ``rnn`` is the paper's tanh recurrence
u_t = tanh(bu + Wvu v_t + Wuu u_{t-1}); ``gru`` and ``lstm`` replace it for long pieces (the LSTM
is the seed experiment's LSTM-RBM). On a GPU, Keras runs gru and lstm as cuDNN kernels (their
defaults allow it); it has no cuDNN path for SimpleRNN.
"""

from __future__ import annotations

from pianorbm.common.quiet import keras
from pianorbm.common.quiet import tf

CELLS = {
    "rnn": lambda units, dtype: keras.layers.SimpleRNN(units, activation="tanh", return_sequences=True,
                                                       return_state=True, dtype=dtype),
    "gru": lambda units, dtype: keras.layers.GRU(units, return_sequences=True, return_state=True, dtype=dtype),
    "lstm": lambda units, dtype: keras.layers.LSTM(units, return_sequences=True, return_state=True, dtype=dtype),
}


def make_recurrent_layer(cell: str, units: int, dtype=None) -> keras.layers.Layer:
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(CELLS)}")
    return CELLS[cell](units, dtype)


@keras.saving.register_keras_serializable(package="pianorbm")
class Conditioner(keras.layers.Layer):
    """Maps frames v (B, T, 88) to the recurrent states *before* each step, u_{t-1} (B, T, units).

    The state before the first step is learned (``learned_initial_state``) or zero.
    """

    def __init__(self, cell: str = "rnn", units: int = 100, learned_initial_state: bool = True, dropout: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.cell_name, self.units, self.learned_initial_state = cell, units, learned_initial_state
        self.dropout = dropout
        self.recurrent = make_recurrent_layer(cell, units, dtype=kwargs.get("dtype"))
        self.state_count = 2 if cell == "lstm" else 1

    def build(self, input_shape):
        self.recurrent.build(input_shape)
        self.initial = [self.add_weight(name=f"initial_state_{i}", shape=(self.units,), initializer="zeros",
                                        trainable=self.learned_initial_state) for i in range(self.state_count)]

    def get_config(self):
        return {**super().get_config(), "cell": self.cell_name, "units": self.units,
                "learned_initial_state": self.learned_initial_state, "dropout": self.dropout}

    def initial_states(self, batch_size):
        return [tf.tile(tf.cast(state, self.compute_dtype)[None, :], [batch_size, 1]) for state in self.initial]

    def call(self, frames, training=None, initial_states=None, return_states=False, dropout_seed=None,
             replica_rows=None):
        """u_{t-1} for every step; from ``initial_states`` (a list, as returned) instead of the learned
        state when given, e.g. the state a previous chunk of the same pieces ended in; with
        ``return_states``, also the states after the last frame.

        In training with ``dropout_seed`` (a stateless (2,) seed), each sequence's input keys are
        dropped with probability ``dropout``, the same keys at every step of the call; the mask is a
        function of the seed alone, so a resumed run draws the masks of an uninterrupted one. With
        ``replica_rows`` (first row, rows of the whole batch), ``frames`` are those rows of a batch
        split over replicas, and get the masks one device would give them."""
        batch = tf.shape(frames)[0]
        frames = tf.cast(frames, self.compute_dtype)
        if training and self.dropout and dropout_seed is not None:
            seed = tf.random.experimental.stateless_fold_in(dropout_seed, 0xD0)  # apart from the Gibbs chains' draws
            first, rows = (0, batch) if replica_rows is None else replica_rows
            noise = tf.random.stateless_uniform(tf.stack([rows, 1, tf.shape(frames)[2]]), seed, dtype=frames.dtype)
            keep = noise[first:first + batch] >= self.dropout  # tf.nn.experimental.stateless_dropout's rule
            frames = tf.where(keep, frames * tf.cast(1 / (1 - self.dropout), frames.dtype), tf.zeros_like(frames))
        states = self.initial_states(batch) if initial_states is None else \
            [tf.cast(state, self.compute_dtype) for state in initial_states]
        outputs, *final = self.recurrent(frames, initial_state=states if self.state_count > 1 else states[0],
                                         training=training)
        before = tf.concat([states[0][:, None, :], outputs[:, :-1, :]], axis=1)
        return (before, final) if return_states else before

    def step(self, frame, states):
        """One step for generation: frame (B, 88), states -> (u_t (B, units), new states)."""
        output, new_states = self.recurrent.cell(frame, states if self.state_count > 1 else states[0])
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        return output, new_states
