"""Log partition functions of many RBMs at once by annealed importance sampling (AIS).

Every frame of an RNN-RBM has its own RBM (shared W, per-frame biases bv_t, bh_t), so
log p(v_t | v_<t) = -F_t(v_t) - log Z_t needs log Z_t for every frame. Following Salakhutdinov &
Murray (2008), each frame's RBM is annealed from a base model of independent keys with biases b0
and no weights,
p*_beta(v) = exp(((1 - beta) b0 + beta bv).v) prod_j (1 + exp(beta (v W + bh)_j)),
whose partition function at beta = 0 is 2^H prod_i (1 + e^b0_i), through ``betas`` inverse
temperatures to beta = 1, with ``chains`` independent chains per frame, all frames and chains in
one batch. The estimate of log Z_t is log Z_0 + log mean_c w_c; its standard error comes from the
spread of the importance weights (delta method).

Any base keeps E[Z estimate] = Z, and a base close to the target needs fewer temperatures (a test
on small RBMs with exact Z: 50 temperatures from the visible biases leave log Z 1.2 nats low, from
the exact visible marginals 0.02). ``base_bias`` sets it; the default is b0 = bv. On trained
Nottingham models a base of Gibbs-estimated marginals did not help (docs/ais-check.md): there the
shortfall comes from slow mixing near beta = 1, not from the base.

Reverse AIS (``data``) brackets the estimate from the other side: with both, the NLL lies between
them up to their noise, and their gap says whether the schedule was long enough.
"""

from __future__ import annotations

import math

import numpy as np
from pianorbm.common.quiet import tf

from pianorbm.model.rbm import gibbs_step, next_uniform, stream_states


@tf.function(jit_compile=True)
def _annealing_sums(weights, bv, bh, b0, betas, seed, data, chains: int):
    """Sum over the schedule of log p*_k(v) - log p*_{k-1}(v), shape (F, chains), for F RBMs from base
    biases b0 (F, V). Forward (``data`` None): v starts as an exact sample of the base model and each
    term uses the v drawn at the temperature before. Reverse (``data`` (F, V)): v starts at the data
    and walks from beta = 1 down, each term using the v just drawn at beta_k. One transition is
    h ~ p_beta(h | v), v ~ p_beta(v | h), which is reversible, so the same kernel serves both ways."""
    frames = tf.shape(bv)[0]
    visible, hidden = weights.shape[0], weights.shape[1]
    bv, bh, b0 = bv[:, None, :], bh[:, None, :], b0[:, None, :]
    keys = tf.random.stateless_uniform([3], seed, minval=None, maxval=None, dtype=tf.uint32)
    v_stream = stream_states(tf.stack([frames, chains, visible]), keys[0])
    h_stream = stream_states(tf.stack([frames, chains, hidden]), keys[1])
    towards = bv - b0
    count = tf.shape(betas)[0]
    if data is None:
        v_stream, uniform = next_uniform(v_stream)
        v = tf.where(uniform < tf.sigmoid(b0), 1.0, 0.0)  # exact sample of the base model
        order = tf.range(1, count)
    else:
        v = tf.broadcast_to(data[:, None, :], tf.stack([frames, chains, visible]))
        order = tf.range(count - 1, 0, -1)
    activation = tf.matmul(v, weights) + bh
    total = tf.zeros(tf.stack([frames, chains]))

    def transition(v, activation, h_stream, v_stream, beta):
        h_stream, hidden_uniform = next_uniform(h_stream)
        v_stream, visible_uniform = next_uniform(v_stream)
        v, _, _ = gibbs_step(v, weights, bv, bh, hidden_uniform, visible_uniform, beta=beta, base_bias=b0,
                             hidden_input=activation)
        return v, tf.matmul(v, weights) + bh, h_stream, v_stream

    for k in order:
        previous, beta = betas[k - 1], betas[k]
        if data is not None:
            v, activation, h_stream, v_stream = transition(v, activation, h_stream, v_stream, beta)
        total += (beta - previous) * tf.reduce_sum(v * towards, -1) \
            + tf.reduce_sum(tf.nn.softplus(beta * activation) - tf.nn.softplus(previous * activation), -1)
        if data is None:
            v, activation, h_stream, v_stream = transition(v, activation, h_stream, v_stream, beta)
    return total


def default_betas(count: int) -> np.ndarray:
    """Inverse temperatures from 0 to 1: denser near 1, where the distributions change fastest."""
    count = max(count, 3)
    a = np.linspace(0, 0.5, count // 4, endpoint=False)
    b = np.linspace(0.5, 0.9, count // 4, endpoint=False)
    c = np.linspace(0.9, 1.0, count - 2 * (count // 4))
    return np.concatenate([a, b, c]).astype(np.float32)


def log_partition(weights, bv, bh, *, chains: int = 32, betas: int = 1000, seed: int = 0,
                  frames_per_batch: int = 2048, base_bias=None, data=None) -> tuple[np.ndarray, np.ndarray]:
    """(log Z, standard error) for each of the F RBMs given by ``weights`` (V, H) and biases
    ``bv`` (F, V), ``bh`` (F, H); ``base_bias`` (F, V) is the base model's (default: bv).

    Forward AIS (``data`` None) estimates Z without bias, so its log Z reads low in expectation and
    F(v) + log Z underestimates the NLL. With ``data`` (F, V), one frame per RBM, the reverse
    estimate (RAISE, Burda, Grosse & Salakhutdinov 2015): chains start at the data and anneal down to
    the base, an unbiased estimate of p_ann(v), v's probability under the annealed sampler, which
    approaches p(v) as the schedule grows; log Z = -F(v) - log p then reads high in expectation.
    The two bracket the NLL and meet as ``betas`` grows."""
    weights = tf.convert_to_tensor(weights, tf.float32)
    bv = tf.convert_to_tensor(bv, tf.float32)
    bh = tf.convert_to_tensor(bh, tf.float32)
    b0 = bv if base_bias is None else tf.convert_to_tensor(base_bias, tf.float32)
    reverse = data is not None
    if reverse:
        data = tf.convert_to_tensor(data, tf.float32)
    schedule = tf.constant(default_betas(betas))
    log_z, error = [], []
    hidden = int(weights.shape[1])
    total = int(bv.shape[0])
    size = min(frames_per_batch, 1 << max(total - 1, 1).bit_length())  # few distinct shapes: few compilations
    for start in range(0, total, size):
        parts = [bv[start:start + size], bh[start:start + size], b0[start:start + size]]
        count = int(parts[0].shape[0])
        padded = [tf.pad(part, [[0, size - count], [0, 0]]) for part in parts]
        start_data = tf.pad(data[start:start + size], [[0, size - count], [0, 0]]) if reverse else None
        sums = _annealing_sums(weights, *padded, schedule, tf.constant([seed, start], tf.int64), start_data,
                               chains=chains).numpy().astype(np.float64)[:count]
        log_w = -sums if reverse else sums
        base = hidden * math.log(2) + tf.reduce_sum(tf.nn.softplus(parts[2]), -1).numpy().astype(np.float64)
        top = log_w.max(axis=1, keepdims=True)
        w = np.exp(log_w - top)
        log_mean = top[:, 0] + np.log(w.mean(axis=1))
        log_z.append(base - log_mean if reverse else base + log_mean)
        error.append(w.std(axis=1, ddof=1) / (w.mean(axis=1) * math.sqrt(chains)))
    return np.concatenate(log_z), np.concatenate(error)


def exact_log_partition(weights: np.ndarray, bv: np.ndarray, bh: np.ndarray) -> np.ndarray:
    """log Z of small RBMs (H <= ~20) by summing over every hidden state; bv (F, V), bh (F, H)."""
    hidden = weights.shape[1]
    states = ((np.arange(2 ** hidden)[:, None] >> np.arange(hidden)) & 1).astype(np.float64)  # (S, H)
    # log Z = logsumexp_h [bh.h + sum_i softplus(bv_i + (W h)_i)]
    terms = bh @ states.T + np.logaddexp(0, bv[:, None, :] + (states @ weights.T)[None]).sum(-1)
    top = terms.max(axis=1, keepdims=True)
    return (top[:, 0] + np.log(np.exp(terms - top).sum(axis=1)))
