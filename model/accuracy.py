"""Frame-level accuracy (Bay et al. 2009) of predicted frames, and its expectation under an RBM.

ACC of one predicted frame against the true one is TP / (TP + FP + FN); a silent frame predicted
silent scores 1. The benchmark's figure is the *expected* accuracy: for each time step t, the
expectation of ACC_t over samples of p(v_t | v_<t), averaged with every time step weighted equally.
Bay's *pooled* figure, sum TP / sum (TP + FP + FN) over all frames (and samples), is reported
beside it, labelled.

The expectation is estimated with ``chains`` Gibbs chains per frame, started from the previous
true frame, run ``burn_in`` steps and then ``samples`` more steps, each of which contributes a
sample: chains x samples draws per frame, all frames and chains in one XLA-compiled loop. The same
draws give each key's probability in p(v_t | v_<t); thresholded at 0.5 they are a deterministic
prediction, whose ACC shows whether an expected accuracy below a deterministic floor (copying the
previous frame) comes from the sampling spread of a calibrated model or from a poor one.
"""

from __future__ import annotations

import numpy as np
from pianorbm.common.quiet import tf

from pianorbm.model.rbm import stream_states, unit_interval, xorshift32


def frame_accuracy(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """ACC of each frame (..., 88) -> (...): TP / (TP + FP + FN), and 1 where both are silent."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    tp = (predicted & truth).sum(-1)
    wrong = (predicted ^ truth).sum(-1)
    return np.where(tp + wrong > 0, tp / np.maximum(tp + wrong, 1), 1.0)


def frame_counts(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(TP, FP, FN) of each frame (F, 88) -> (F, 3)."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    return np.stack([(predicted & truth).sum(-1), (predicted & ~truth).sum(-1), (~predicted & truth).sum(-1)], -1)


def pooled_accuracy(tp: float, fp: float, fn: float) -> float:
    """Bay et al.'s pooled figure."""
    return tp / (tp + fp + fn) if tp + fp + fn else 1.0


@tf.function(jit_compile=True)
def _sampled_accuracy(weights, bv, bh, start, truth, seed, burn_in, samples):
    """Per row of ``truth`` (N, V): the sum over draws of ACC, the summed TP, FP, FN, and the summed
    draws (N, V)."""
    keys = tf.random.stateless_uniform([2], seed, minval=None, maxval=None, dtype=tf.uint32)
    h_stream = stream_states(tf.shape(bh), keys[0])
    v_stream = stream_states(tf.shape(bv), keys[1])
    zeros = tf.zeros(tf.shape(truth)[:1])

    def body(step, v, h_stream, v_stream, acc, tp, fp, fn, keys_on):
        h_stream = xorshift32(h_stream)
        h = tf.where(unit_interval(h_stream) < tf.sigmoid(tf.matmul(v, weights) + bh), 1.0, 0.0)
        v_stream = xorshift32(v_stream)
        v = tf.where(unit_interval(v_stream) < tf.sigmoid(tf.matmul(h, weights, transpose_b=True) + bv), 1.0, 0.0)
        count = tf.cast(step >= burn_in, tf.float32)
        hits = tf.reduce_sum(v * truth, -1)
        false_pos = tf.reduce_sum(v * (1 - truth), -1)
        false_neg = tf.reduce_sum((1 - v) * truth, -1)
        total = hits + false_pos + false_neg
        frame_acc = tf.where(total > 0, hits / tf.maximum(total, 1.0), 1.0)
        return (step + 1, v, h_stream, v_stream, acc + count * frame_acc, tp + count * hits,
                fp + count * false_pos, fn + count * false_neg, keys_on + count * v)

    loop = tf.while_loop(lambda step, *_: step < burn_in + samples, body,
                         (tf.constant(0), start, h_stream, v_stream, zeros, zeros, zeros, zeros,
                          tf.zeros_like(truth)))
    return loop[4:]


def expected_accuracy(weights, visible_bias, hidden_bias, previous, truth, *, chains: int, burn_in: int,
                      samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: the expected ACC under its RBM (F,), the summed (TP, FP, FN) of the draws (F, 3),
    and each key's probability estimated from the draws (F, 88).

    ``previous`` (F, 88) starts the chains (the true frame before each one); every frame gets
    ``chains`` chains of ``burn_in`` + ``samples`` Gibbs steps.
    """
    tile = lambda x: tf.tile(tf.convert_to_tensor(x, tf.float32), [chains, 1])  # noqa: E731
    acc, tp, fp, fn, keys_on = _sampled_accuracy(
        tf.convert_to_tensor(weights), tile(visible_bias), tile(hidden_bias), tile(previous), tile(truth),
        tf.constant([seed, 104729], tf.int64), tf.constant(burn_in), tf.constant(samples))
    frames = len(truth)
    per_frame = lambda x: x.numpy().reshape(chains, frames).sum(0)  # noqa: E731
    draws = chains * samples
    probabilities = keys_on.numpy().reshape(chains, frames, -1).sum(0) / draws
    return per_frame(acc) / draws, np.stack([per_frame(tp), per_frame(fp), per_frame(fn)], axis=1), probabilities
