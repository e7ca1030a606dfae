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

from pianorbm.model.tempering import _tempered_statistics, ladder


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


def expected_accuracy(weights, visible_bias, hidden_bias, start, truth, *, chains: int, burn_in: int,
                      samples: int, seed: int, replicas: int = 1) -> dict:
    """Per frame, from ``chains`` chains of ``burn_in`` + ``samples`` sweeps (model.tempering; one replica
    is plain Gibbs sampling): "accuracy", the expected ACC under its RBM (F,); "counts", the summed
    (TP, FP, FN) of the draws (F, 3); "key_probability", each key's probability given the past, the
    average of its conditional means given the drawn hidden states (F, 88); "draw_frequency", the
    share of draws with the key on (F, 88); and "swap_rate", each neighbouring pair's accepted share
    of swaps (K - 1,). ``start`` (F, 88) is where every replica of the chains begins."""
    tile = lambda x: tf.tile(tf.convert_to_tensor(x, tf.float32), [chains, 1])  # noqa: E731
    visible_bias = tile(visible_bias)
    acc, tp, fp, fn, keys_on, means, swaps = _tempered_statistics(
        tf.convert_to_tensor(weights), visible_bias, tile(hidden_bias), visible_bias, tf.constant(ladder(replicas)),
        tile(start), tile(truth), tf.constant([seed, 104729], tf.int64), tf.constant(burn_in), tf.constant(samples))
    frames = len(truth)
    per_frame = lambda x: x.numpy().reshape(chains, frames).sum(0)  # noqa: E731
    draws = chains * samples
    per_key = lambda x: x.numpy().reshape(chains, frames, -1).sum(0) / draws  # noqa: E731
    proposals = max(frames * chains * (burn_in + samples) // 2, 1)
    return {"accuracy": per_frame(acc) / draws, "counts": np.stack([per_frame(tp), per_frame(fp), per_frame(fn)], 1),
            "key_probability": per_key(means), "draw_frequency": per_key(keys_on),
            "swap_rate": swaps.numpy()[:-1] / proposals}
