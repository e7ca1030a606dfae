"""``pianorbm evaluate``: negative log-likelihood per time step (AIS) and frame-level accuracy.

Conventions (the paper's, stated because papers differ):
- every frame of every sequence is scored, the first one predicted from the learned initial state;
- NLL is averaged per frame over the whole split (``nll``); the mean of per-sequence averages is
  reported beside it (``nll_per_sequence``);
- log p(v_t | v_<t) = -F_t(v_t) - log Z_t, with log Z_t estimated by AIS (model.ais); the standard
  error combines the frames' AIS errors;
- accuracy (Bay et al. 2009) is sum TP / sum (TP + FP + FN) over all frames, where the prediction of
  a frame is its RBM's expected frame, estimated by the visible means of a Gibbs chain (k steps from
  silence) given the true past, thresholded at 0.5.
The independent-Bernoulli baseline uses each key's frequency in the training split.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from common.files import write_json_atomic
from model.config import EvaluateConfig
from model.likelihood import CHUNK, frame_nll, frames_and_biases
from model.rnn_rbm import MIN_KEY_PROBABILITY
from model.run_folder import RunFolderError, load_run_model, read_data
from pipelines.records import RecordsError, load_info

# Boulanger-Lewandowski et al. (2012), test NLL per time step.
PUBLISHED_NLL = {
    "piano-midi": {"RNN-RBM": 7.09, "RNN-NADE": 7.05},
    "nottingham": {"RNN-RBM": 2.39, "RNN-NADE": 2.31},
    "musedata": {"RNN-RBM": 6.01, "RNN-NADE": 5.60},
    "jsb": {"RNN-RBM": 6.27, "RNN-NADE": 5.19},
}
PUBLISHED_BERNOULLI = 11.0  # "about 11" for the independent Bernoulli baseline


class EvaluationError(Exception):
    """Evaluation cannot run as asked; the message says why."""


def benchmark_name(info: dict) -> str | None:
    name = (info["source"].get("name") or "").lower().replace(" ", "")
    for key in PUBLISHED_NLL:
        if name.startswith(key.replace("-", "")) or name.startswith(key):
            return key
    return None


def frame_counts(predicted: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(TP, FP, FN) of binary frames."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    return int((predicted & truth).sum()), int((predicted & ~truth).sum()), int((~predicted & truth).sum())


def accuracy(tp: int, fp: int, fn: int) -> float:
    return tp / (tp + fp + fn) if tp + fp + fn else 1.0


def bernoulli_nll(frames: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """NLL of each frame (F, 88) under independent Bernoulli keys with the given frequencies."""
    p = np.clip(frequencies, MIN_KEY_PROBABILITY, 1 - MIN_KEY_PROBABILITY)
    return -(frames * np.log(p) + (1 - frames) * np.log(1 - p)).sum(axis=1)


def evaluate_run(run_dir: Path, records_dir: Path | None, config: EvaluateConfig, progress=None) -> dict:
    """Evaluates the run on one split; writes and returns ``eval-<split>.json`` in ``run_dir``."""
    import tensorflow as tf

    run_dir = Path(run_dir)
    try:
        data = read_data(run_dir)
        records_dir = Path(records_dir or data["records"])
        info = load_info(records_dir)
        splits = [name for name, split in info["splits"].items() if split["frames"]]
        if config.split not in splits:
            raise EvaluationError(f"{records_dir} has no frames in split {config.split!r}; "
                                  f"splits with frames: {', '.join(splits) or 'none'}")
        model = load_run_model(run_dir, config.weights)
    except (RunFolderError, RecordsError) as err:
        raise EvaluationError(str(err)) from err
    frequencies = np.array(info["pitch_histogram"], dtype=np.float64) / max(info["splits"]["train"]["frames"], 1)
    started = time.monotonic()
    frames, visible_bias, hidden_bias, lengths = frames_and_biases(model, records_dir, config.split, config.batch_size)
    bar = progress(len(frames)) if progress else None
    nll, errors, tp, fp, fn = [], [], 0, 0, 0
    for start in range(0, len(frames), CHUNK):
        v = frames[start:start + CHUNK]
        bv, bh = visible_bias[start:start + CHUNK], hidden_bias[start:start + CHUNK]
        chunk_nll, error = frame_nll(model, v, bv, bh, config.ais_chains, config.ais_betas, config.seed + start)
        nll.append(chunk_nll)
        errors.append(error)
        pad = CHUNK - len(v)  # one shape for the compiled chain
        _, mean, _ = model.rbm.gibbs(np.pad(np.zeros_like(v), [[0, pad], [0, 0]]), np.pad(bv, [[0, pad], [0, 0]]),
                                     np.pad(bh, [[0, pad], [0, 0]]), config.accuracy_k,
                                     tf.constant([config.seed, 7919 + start], tf.int64), model.sampler)
        counts = frame_counts(mean.numpy()[: len(v)] >= 0.5, v)
        tp, fp, fn = tp + counts[0], fp + counts[1], fn + counts[2]
        if bar is not None:
            bar.update(len(v))
    if bar is not None:
        bar.close()
    offsets = np.cumsum([0] + lengths)
    nll_all, error_all = np.concatenate(nll), np.concatenate(errors)
    per_sequence = [nll_all[a:b].mean() for a, b in zip(offsets[:-1], offsets[1:]) if b > a]
    benchmark = benchmark_name(info)
    result = {
        "stage": "evaluate",
        "run": str(run_dir.resolve()),
        "records": str(records_dir.resolve()),
        "split": config.split,
        "settings": asdict(config),
        "frames": int(len(nll_all)),
        "sequences": len(per_sequence),
        "nll": float(nll_all.mean()),
        "nll_standard_error": float(math.sqrt((error_all ** 2).sum()) / len(error_all)),
        "nll_per_sequence": float(np.mean(per_sequence)),
        "accuracy": accuracy(tp, fp, fn),
        "true_positives": tp, "false_positives": fp, "false_negatives": fn,
        "bernoulli_nll": float(bernoulli_nll(frames, frequencies).mean()),
        "benchmark": benchmark,
        "published": PUBLISHED_NLL.get(benchmark or "", {}),
        "seconds": round(time.monotonic() - started, 1),
        "conventions": "per frame over the split, first frame included (predicted from the initial state); "
                       "accuracy = TP/(TP+FP+FN) of thresholded expected frames",
    }
    write_json_atomic(run_dir / f"eval-{config.split}.json", result)
    return result


def result_table(result: dict) -> str:
    lines = [f"{'model':<34} {'NLL/step':>10} {'accuracy':>9}", "-" * 55,
             f"{'this run':<34} {result['nll']:>7.3f} +- {result['nll_standard_error']:.3f}"
             f" {100 * result['accuracy']:>7.1f} %",
             f"{'independent Bernoulli (this data)':<34} {result['bernoulli_nll']:>10.3f}"]
    for name, value in result["published"].items():
        lines.append(f"{name + ' (published)':<34} {value:>10.2f}")
    if result["published"]:
        lines.append(f"{'independent Bernoulli (published)':<34} {'~' + str(PUBLISHED_BERNOULLI):>10}")
    lines.append(f"{result['frames']:,} frames of {result['sequences']} sequences, split {result['split']}, "
                 f"{result['seconds']} s")
    return "\n".join(lines)
