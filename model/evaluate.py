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

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from curate.atomic import write_text_atomic
from model.rnn_rbm import MIN_KEY_PROBABILITY
from model.train import TrainingError, load_run_model
from pipelines.records import load_info

# Boulanger-Lewandowski et al. (2012), test NLL per time step.
PUBLISHED_NLL = {
    "piano-midi": {"RNN-RBM": 7.09, "RNN-NADE": 7.05},
    "nottingham": {"RNN-RBM": 2.39, "RNN-NADE": 2.31},
    "musedata": {"RNN-RBM": 6.01, "RNN-NADE": 5.60},
    "jsb": {"RNN-RBM": 6.27, "RNN-NADE": 5.19},
}
CHUNK = 2048  # frames per compiled AIS / Gibbs call
PUBLISHED_BERNOULLI = 11.0  # "about 11" for the independent Bernoulli baseline


class EvaluationError(Exception):
    """Evaluation cannot run as asked; the message says why."""


@dataclass(frozen=True)
class EvaluateConfig:
    split: str = "test"
    ais_chains: int = 16
    ais_betas: int = 500
    accuracy_k: int = 25
    seed: int = 0
    batch_size: int = 16
    weights: str = "best"


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


def frames_and_biases(model, records_dir: Path, split: str, batch_size: int = 16):
    """Every frame of a split (F, 88) with its RBM's biases (F, 88), (F, hidden), and the sequence
    lengths, each sequence run from the initial state."""
    import tensorflow as tf

    from pipelines.dataset import make_dataset

    frames, visible_bias, hidden_bias, lengths = [], [], [], []
    for rolls, batch_lengths in make_dataset(records_dir, split, seq_len=None, batch_size=batch_size, shuffle=False):
        bv, bh = model(rolls)
        mask = tf.sequence_mask(batch_lengths, tf.shape(rolls)[1])
        frames.append(tf.boolean_mask(rolls, mask).numpy())
        visible_bias.append(tf.boolean_mask(bv, mask).numpy())
        hidden_bias.append(tf.boolean_mask(bh, mask).numpy())
        lengths += batch_lengths.numpy().tolist()
    return (*(np.concatenate(x) for x in (frames, visible_bias, hidden_bias)), lengths)


def frame_nll(model, frames, visible_bias, hidden_bias, chains: int, betas: int, seed: int):
    """-log p of each frame (at most CHUNK) under its own RBM, log Z by AIS; and log Z's standard error."""
    from model.ais import log_partition

    free = model.rbm.free_energy(frames, visible_bias, hidden_bias).numpy().astype(np.float64)
    log_z, error = log_partition(model.rbm.W, visible_bias, hidden_bias, chains=chains, betas=betas, seed=seed,
                                 frames_per_batch=CHUNK)
    return free + log_z, error


def split_nll(model, records_dir: Path, split: str, chains: int, betas: int, seed: int = 0) -> float:
    """Mean NLL per frame of a split (the figure of :func:`evaluate_run`, without accuracy or files)."""
    frames, visible_bias, hidden_bias, _ = frames_and_biases(model, records_dir, split)
    nll = [frame_nll(model, frames[i:i + CHUNK], visible_bias[i:i + CHUNK], hidden_bias[i:i + CHUNK], chains, betas,
                     seed + i)[0] for i in range(0, len(frames), CHUNK)]
    return float(np.concatenate(nll).mean())


def evaluate_run(run_dir: Path, records_dir: Path | None, config: EvaluateConfig, progress=None) -> dict:
    """Evaluates the run on one split; writes and returns ``eval-<split>.json`` in ``run_dir``."""
    import tensorflow as tf

    run_dir = Path(run_dir)
    try:
        model = load_run_model(run_dir, config.weights)
    except TrainingError as err:
        raise EvaluationError(str(err)) from err
    data = json.loads((run_dir / "data.json").read_text())
    records_dir = Path(records_dir or data["records"])
    info = load_info(records_dir)
    if config.split not in info["splits"] or not info["splits"][config.split]["frames"]:
        raise EvaluationError(f"{records_dir} has no frames in split {config.split!r}")
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
    write_text_atomic(run_dir / f"eval-{config.split}.json", json.dumps(result, indent=1) + "\n")
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
