"""The RBM over one 88-key frame, with per-frame biases, batched over every frame at once.

Energy E(v, h) = -v.bv - h.bh - v W h with v in {0,1}^88, h in {0,1}^H. The biases are per frame
(the conditioner shifts them at every time step), so every method takes bv (N, 88) and bh (N, H)
tensors for N frames and works on all of them together: in training the k Gibbs chains of all
B x T frames of a batch run in parallel.

Bernoulli sampling draws most of the random numbers of training (15 Gibbs steps x 238 units per
frame), and TensorFlow's counter-based generators produce about 75 M numbers/s on this project's
2-core CPU, which caps training near 21,000 frames/s however fast the products are. So the default
``sampler="xorshift"`` gives every unit of every chain its own xorshift32 stream, seeded by
hashing the unit's index with a key drawn from the stateless (seed, step) generator, and advances
each stream with three shifts and xors per step, fused by XLA into the sigmoid and comparison
(uniforms with 24-bit resolution).
``sampler="philox"`` draws every number from the generator instead (exact, slower); see
docs/train-speed.md for both.
"""

from __future__ import annotations

from pianorbm.common.quiet import keras
from pianorbm.common.quiet import tf

SAMPLERS = ("xorshift", "philox")
_TWO_POW_24 = 1.0 / 16777216.0


def xorshift32(state):
    state = tf.bitwise.bitwise_xor(state, tf.bitwise.left_shift(state, tf.constant(13, tf.uint32)))
    state = tf.bitwise.bitwise_xor(state, tf.bitwise.right_shift(state, tf.constant(17, tf.uint32)))
    return tf.bitwise.bitwise_xor(state, tf.bitwise.left_shift(state, tf.constant(5, tf.uint32)))


def _fmix32(h):
    """MurmurHash3's finaliser: a bijective, well-mixing map of uint32."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))
    h = h * tf.constant(0x85EBCA6B, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(13, tf.uint32)))
    h = h * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))


def stream_states(shape, key, first_row=0):
    """One nonzero xorshift32 state per element, hashed from its index and a key (XLA's stateless
    generators are slow on CPU; one tiny draw for the key and a hash per lane is not). Rows
    (shape[0]) are numbered from ``first_row``: a replica holding rows i.. of a batch draws what one
    device drawing the whole batch draws for them."""
    first = tf.cast(first_row, tf.int32) * tf.cast(tf.reduce_prod(shape[1:]), tf.int32)
    index = tf.cast(tf.range(tf.reduce_prod(shape)) + first, tf.uint32) * tf.constant(0x9E3779B9, tf.uint32) + key
    return tf.reshape(tf.bitwise.bitwise_or(_fmix32(index), tf.constant(1, tf.uint32)), shape)


def unit_interval(state):
    return tf.cast(tf.bitwise.right_shift(state, tf.constant(8, tf.uint32)), tf.float32) * _TWO_POW_24


class BernoulliStreams:
    """Uniform numbers for the Bernoulli draws of one Gibbs chain, from a stateless (2,) seed."""

    def __init__(self, seed, sampler: str, hidden_shape, visible_shape, first_row=0):
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")
        self.sampler, self.draws = sampler, 0
        self.shapes = {"hidden": hidden_shape, "visible": visible_shape}
        hidden_seed, visible_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        self.seeds = {"hidden": hidden_seed, "visible": visible_seed}
        if sampler == "xorshift":
            keys = tf.random.stateless_uniform([2], seed, minval=None, maxval=None, dtype=tf.uint32)
            self.states = {"hidden": stream_states(hidden_shape, keys[0], first_row),
                           "visible": stream_states(visible_shape, keys[1], first_row)}

    def _uniform(self, side: str):
        if self.sampler == "philox":
            self.draws += 1
            return tf.random.stateless_uniform(self.shapes[side],
                                               tf.random.experimental.stateless_fold_in(self.seeds[side], self.draws))
        self.states[side], uniform = next_uniform(self.states[side])
        return uniform

    def hidden(self):
        return self._uniform("hidden")

    def visible(self):
        return self._uniform("visible")


def next_uniform(state):
    """Advances xorshift32 streams one step: (new state, uniforms in [0, 1) of the same shape)."""
    state = xorshift32(state)
    return state, unit_interval(state)


def gibbs_step(v, weights, bv, bh, hidden_uniform, visible_uniform, beta=1.0, base_bias=None, clamp=None,
               hidden_input=None):
    """One block-Gibbs transition v -> h -> v: the one kernel that training, AIS, accuracy, tempering
    and generation run. Returns (v', h, mean of v' given h).

    ``beta`` (a scalar or anything that broadcasts against the biases) is the inverse temperature on
    the path p_beta(v, h) ~ exp(((1 - beta) b0 + beta bv).v + beta (v W h + bh.h)) from independent keys
    with biases ``base_bias`` b0 (None: zero, so beta = 1 / temperature) to the RBM at beta = 1.
    The uniforms, (N, H) and (N, V), decide the Bernoulli draws. ``clamp`` (mask, values) holds the
    visible units where mask is 1 at the given values. ``hidden_input``: v W + bh, when the caller has
    it already (AIS and tempering need it for their weights)."""
    if hidden_input is None:
        hidden_input = tf.matmul(v, weights) + bh
    h = tf.where(hidden_uniform < tf.sigmoid(beta * hidden_input), 1.0, 0.0)
    top_down = beta * (tf.matmul(h, weights, transpose_b=True) + bv)
    if base_bias is not None:
        top_down += (1.0 - beta) * base_bias
    mean = tf.sigmoid(top_down)
    v = tf.where(visible_uniform < mean, 1.0, 0.0)
    if clamp is not None:
        mask, values = clamp
        v = tf.where(mask > 0, values, v)
        mean = tf.where(mask > 0, values, mean)
    return v, h, mean


@keras.saving.register_keras_serializable(package="pianorbm")
class RBM(keras.layers.Layer):
    """Binary RBM with ``visible`` units (88 keys) and ``hidden`` units.

    Weights: ``W`` (visible, hidden), ``bv`` (visible,), ``bh`` (hidden,). The per-frame bias
    offsets that the conditioner produces are added to ``bv`` and ``bh`` by the caller.
    """

    def __init__(self, visible: int = 88, hidden: int = 150, weight_stddev: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.visible, self.hidden, self.weight_stddev = visible, hidden, weight_stddev

    def build(self, input_shape=None):
        init = keras.initializers.RandomNormal(stddev=self.weight_stddev)
        self.W = self.add_weight(name="W", shape=(self.visible, self.hidden), initializer=init)
        self.bv = self.add_weight(name="bv", shape=(self.visible,), initializer="zeros")
        self.bh = self.add_weight(name="bh", shape=(self.hidden,), initializer="zeros")

    def get_config(self):
        return {**super().get_config(), "visible": self.visible, "hidden": self.hidden,
                "weight_stddev": self.weight_stddev}

    def free_energy(self, v, bv, bh):
        """F(v) = -v.bv - sum_j softplus((v W + bh)_j), per frame: (N,) for v (N, 88)."""
        return -tf.reduce_sum(v * bv, axis=-1) - tf.reduce_sum(tf.nn.softplus(tf.matmul(v, self.W) + bh), axis=-1)

    def gibbs(self, v, bv, bh, k: int, seed, sampler: str = "xorshift", temperature: float = 1.0, first_row=0):
        """Runs k steps of block Gibbs sampling v -> h -> v from ``v`` (N, 88), compiled with XLA.

        Returns (v_k, mean of v_k given h_{k-1}, mean of v_1 given h_0): the sample, its
        conditional mean, and the one-step reconstruction. No gradient flows through the chain.
        ``first_row`` numbers the chains of one replica's part of a batch (see stream_states; the
        philox sampler draws per replica instead: the same distribution, other numbers).
        """
        chain = _gibbs_chain_xla if sampler == "xorshift" else _gibbs_chain_graph
        return chain(v, bv, bh, tf.convert_to_tensor(self.W), seed, tf.convert_to_tensor(first_row, tf.int32), k=k,
                     sampler=sampler, temperature=temperature)


def _gibbs_chain(v, bv, bh, weights, seed, first_row, k: int, sampler: str, temperature: float):
    streams = BernoulliStreams(seed, sampler, tf.shape(bh), tf.shape(bv), first_row)
    first_mean = mean = None
    for _ in range(k):
        v, _, mean = gibbs_step(v, weights, bv, bh, streams.hidden(), streams.visible(), beta=1.0 / temperature)
        if first_mean is None:
            first_mean = mean
    return tf.stop_gradient(v), tf.stop_gradient(mean), tf.stop_gradient(first_mean)


# XLA fuses the xorshift streams into the products; its Philox kernels are slow on CPU, so the
# exact sampler runs as a plain graph.
_gibbs_chain_xla = tf.function(_gibbs_chain, jit_compile=True)
_gibbs_chain_graph = tf.function(_gibbs_chain)
