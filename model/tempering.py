"""Parallel tempering: samples of one RBM per frame that do not depend on where the chain started.

On a sharp model a plain Gibbs chain stays near its start for hundreds of steps (on the Nottingham
paper run, the expected accuracy after 400 steps was 63.7 % from the previous frame, 66.3 % from the
true frame and 43.5 % from silence). Tempering runs ``K`` replicas of each chain along the AIS path
p_beta(v) ~ exp(((1 - beta) b0 + beta bv).v) prod_j (1 + exp(beta (v W + bh)_j)) (model.ais): the
replica at beta = 0 draws independent keys with biases b0 exactly, the one at beta = 1 is the RBM.
Each sweep is one Gibbs step of every replica at its own beta (model.rbm.gibbs_step), then swaps of
neighbouring replicas (pairs 0-1, 2-3, ... on even sweeps, 1-2, 3-4, ... on odd ones), each accepted
with probability min(1, p_a(v_b) p_b(v_a) / (p_a(v_a) p_b(v_b))). Both moves leave the product of
the replicas' distributions invariant, so the top replica samples the RBM, and states travel from
the base, which forgets the start in one step, up the ladder.

Everything is batched: ``v`` is (N, K, 88) for N chains; the statistics are taken from the top
replica after each sweep's Gibbs step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from pianorbm.common.quiet import tf

from pianorbm.model.rbm import gibbs_step, next_uniform, stream_states


def ladder(replicas: int) -> np.ndarray:
    """``replicas`` inverse temperatures from 0 to 1, beta_k = (k / (K - 1))^2: closer together near 0,
    where the base and the RBM's first pull differ most (on the Nottingham paper run, swaps between the
    two lowest replicas were accepted 1 % of the time with sqrt spacing, 66 % with this one). One
    replica is plain Gibbs sampling at beta = 1."""
    if replicas < 1:
        raise ValueError(f"tempering needs at least 1 replica, not {replicas}")
    if replicas == 1:
        return np.ones(1, np.float32)
    return (np.linspace(0.0, 1.0, replicas) ** 2).astype(np.float32)


class TemperedState(NamedTuple):
    """The replicas of N chains: states v (N, K, V), their v W + bh (N, K, H), their random streams,
    and the sweep count (which decides the swap pairs)."""

    v: tf.Tensor
    hidden_input: tf.Tensor
    hidden_stream: tf.Tensor
    visible_stream: tf.Tensor
    swap_stream: tf.Tensor
    sweep: tf.Tensor


def start_state(start, weights, bh, replicas: int, key) -> TemperedState:
    """Every replica of each chain at ``start`` (N, V); ``key`` (3,) uint32 seeds the streams."""
    chains, visible, hidden = tf.shape(start)[0], weights.shape[0], weights.shape[1]
    v = tf.broadcast_to(start[:, None, :], tf.stack([chains, replicas, visible]))
    return TemperedState(v, tf.matmul(v, weights) + bh[:, None, :],
                         stream_states(tf.stack([chains, replicas, hidden]), key[0]),
                         stream_states(tf.stack([chains, replicas, visible]), key[1]),
                         stream_states(tf.stack([chains, replicas]), key[2]), tf.constant(0))


def restart(state: TemperedState, start, weights, bh) -> TemperedState:
    """The same random streams, every replica at ``start`` (N, V), for RBMs with hidden biases ``bh``."""
    v = tf.broadcast_to(start[:, None, :], tf.shape(state.v))
    return state._replace(v=v, hidden_input=tf.matmul(v, weights) + bh[:, None, :])


def _log_weight(v, hidden_input, towards, beta):
    """log p*_beta(v) up to the terms that cancel between temperatures: beta (bv - b0).v +
    sum_j softplus(beta (v W + bh)_j), per replica (N, K)."""
    return beta * tf.reduce_sum(v * towards, -1) + tf.reduce_sum(tf.nn.softplus(beta[..., None] * hidden_input), -1)


def _shift(x, offset: int):
    """Replica k takes replica k + offset's value (its own at the ends): axis 1, offset +1 or -1."""
    if offset > 0:
        return tf.concat([x[:, 1:], x[:, -1:]], axis=1)
    return tf.concat([x[:, :1], x[:, :-1]], axis=1)


def sweep(state: TemperedState, weights, bv, bh, base_bias, betas):
    """One Gibbs step of every replica, then swaps of neighbours. ``bv``, ``base_bias`` (N, V), ``bh``
    (N, H), ``betas`` (K,). Returns (new state, the top replica's v and its mean given h (N, V) before
    the swaps, the swaps accepted (N, K) on the pairs' lower replicas)."""
    replicas = betas.shape[0]
    beta = tf.reshape(betas, [1, replicas, 1])
    bv3, bh3, b03 = bv[:, None, :], bh[:, None, :], base_bias[:, None, :]
    hidden_stream, hidden_uniform = next_uniform(state.hidden_stream)
    visible_stream, visible_uniform = next_uniform(state.visible_stream)
    v, _, mean = gibbs_step(state.v, weights, bv3, bh3, hidden_uniform, visible_uniform, beta=beta, base_bias=b03,
                            hidden_input=state.hidden_input)
    hidden_input = tf.matmul(v, weights) + bh3
    top_v, top_mean = v[:, -1], mean[:, -1]

    towards = bv3 - b03
    own = tf.reshape(betas, [1, replicas])
    up, down = _shift(own, 1), _shift(own, -1)
    swap_stream, accepted = state.swap_stream, tf.zeros(tf.shape(v)[:2])
    if replicas > 1:
        at_own = _log_weight(v, hidden_input, towards, own)
        up_gain = _log_weight(v, hidden_input, towards, up) - at_own
        down_gain = at_own - _log_weight(v, hidden_input, towards, down)
        delta = up_gain - _shift(down_gain, 1)  # for the pair (k, k + 1), at k
        swap_stream, swap_uniform = next_uniform(swap_stream)
        lower = tf.logical_and(tf.range(replicas) % 2 == state.sweep % 2, tf.range(replicas) < replicas - 1)
        accept_low = tf.logical_and(lower[None, :], tf.math.log(swap_uniform + 1e-12) < delta)
        accept_high = tf.logical_and(_shift(accept_low, -1), (tf.range(replicas) > 0)[None, :])
        take_up, take_down = accept_low[..., None], accept_high[..., None]
        v = tf.where(take_up, _shift(v, 1), tf.where(take_down, _shift(v, -1), v))
        hidden_input = tf.where(take_up, _shift(hidden_input, 1), tf.where(take_down, _shift(hidden_input, -1),
                                                                            hidden_input))
        accepted = tf.cast(accept_low, tf.float32)
    new_state = TemperedState(v, hidden_input, hidden_stream, visible_stream, swap_stream,
                              state.sweep + 1)
    return new_state, top_v, top_mean, accepted


@tf.function(jit_compile=True)
def _tempered_statistics(weights, bv, bh, base_bias, betas, start, truth, seed, burn_in, samples):
    """Per chain, over ``samples`` sweeps after ``burn_in``: the summed ACC of the top replica's draws
    against ``truth`` (N, V), their summed TP, FP, FN, the summed draws and the summed conditional
    means (N, V); and the swap rate of each neighbouring pair (K,)."""
    replicas = betas.shape[0]
    key = tf.random.stateless_uniform([3], seed, minval=None, maxval=None, dtype=tf.uint32)
    state = start_state(start, weights, bh, replicas, key)
    zeros = tf.zeros(tf.shape(truth)[:1])

    def body(step, state, acc, tp, fp, fn, keys_on, means, swaps):
        state, v, mean, accepted = sweep(state, weights, bv, bh, base_bias, betas)
        count = tf.cast(step >= burn_in, tf.float32)
        hits = tf.reduce_sum(v * truth, -1)
        false_pos = tf.reduce_sum(v * (1 - truth), -1)
        false_neg = tf.reduce_sum((1 - v) * truth, -1)
        total = hits + false_pos + false_neg
        frame_acc = tf.where(total > 0, hits / tf.maximum(total, 1.0), 1.0)
        return (step + 1, state, acc + count * frame_acc, tp + count * hits, fp + count * false_pos,
                fn + count * false_neg, keys_on + count * v, means + count * mean,
                swaps + tf.reduce_sum(tf.cast(accepted, tf.float32), 0))

    loop = tf.while_loop(lambda step, *_: step < burn_in + samples, body,
                         (tf.constant(0), state, zeros, zeros, zeros, zeros, tf.zeros_like(truth),
                          tf.zeros_like(truth), tf.zeros([replicas])))
    return loop[2:]
