"""``pianorbm evaluate``: negative log-likelihood per time step (AIS) and frame-level accuracy.

Conventions (the paper's, stated because papers differ):
- every frame of every sequence is scored, the first one predicted from the learned initial state;
- NLL is averaged per frame over the whole split (``nll``); the mean of per-sequence averages is
  reported beside it (``nll_per_sequence``);
- log p(v_t | v_<t) = -F_t(v_t) - log Z_t, with log Z_t estimated by AIS (model.ais); the standard
  error combines the frames' AIS errors. AIS reads the NLL low when its schedule is short for the
  model's sharpness; reverse AIS from each true frame (``nll_reverse``, on by default) reads it high,
  so the two bracket it and their gap says whether the schedule was long enough;
- accuracy is the expected ACC_t = TP / (TP + FP + FN) over samples of p(v_t | v_<t), averaged with
  every time step weighted equally (model.accuracy); Bay et al.'s pooled ratio is reported beside
  it, and the ACC of the keys more likely on than off (a deterministic prediction, like the floors);
- every figure has a 95 % bootstrap interval over pieces (model.bootstrap).
The floors (independent keys, previous frame) are fitted on the training split only.
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from pianorbm.common.files import write_bytes_atomic, write_json_atomic
from pianorbm.model.config import EvaluateConfig
from pianorbm.model.accuracy import expected_accuracy, frame_accuracy
from pianorbm.model.bootstrap import bootstrap_interval, per_frame_mean, piece_sums, pooled_ratio
from pianorbm.model.floors import (PreviousFrameModel, bernoulli_accuracy, bernoulli_nll, copy_previous_accuracy,
                          previous_frames)
from pianorbm.model.likelihood import CHUNK, frame_nll, frames_and_biases
from pianorbm.model.run_folder import RunFolderError, load_run_model, read_data
from pianorbm.rolls.dataset import split_frames
from pianorbm.rolls.records import RecordsError, key_frequencies, load_info

# Boulanger-Lewandowski et al. (2012), test NLL per time step.
PUBLISHED_NLL = {
    "piano-midi": {"RNN-RBM": 7.09, "RNN-NADE": 7.05},
    "nottingham": {"RNN-RBM": 2.39, "RNN-NADE": 2.31},
    "musedata": {"RNN-RBM": 6.01, "RNN-NADE": 5.60},
    "jsb": {"RNN-RBM": 6.27, "RNN-NADE": 5.19},
}
PUBLISHED_BERNOULLI = 11.0  # "about 11" for the independent Bernoulli baseline
PUBLISHED_ACCURACY = {"nottingham": {"RNN-RBM": 0.754}}  # frame-level accuracy, as cited in ../shared/data/README
POSITION_SPLIT = 100  # NLL is also reported over frames 1-100 of each piece and over the frames after them
CONVENTIONS = ("NLL: per frame over the split, first frame included (predicted from the learned initial state), "
               "log Z by AIS (reads low); nll_reverse: log Z by reverse AIS from each true frame (reads high); "
               "accuracy: expected ACC_t = TP/(TP+FP+FN) per time step over samples of p(v_t | v_<t), "
               "averaged with every time step weighted equally (a silent frame predicted silent scores 1); "
               "accuracy_pooled: Bay et al.'s sum TP / sum (TP+FP+FN) over all frames and samples; "
               "accuracy_likely_keys: ACC per time step of the keys whose probability given the past is above 1/2 "
               "(a deterministic prediction, comparable with the copy-previous floor); over_copy_floor: the "
               "accuracies minus the copy floor's on the same frames, paired bootstrap over pieces; "
               "intervals: 95 % bootstrap over pieces; floors fitted on the train split only")


def per_frame_path(run_dir: Path, split: str) -> Path:
    """Where an evaluation keeps its per-frame figures (for paired comparisons of runs on the same frames)."""
    return Path(run_dir) / f"eval-{split}-frames.npz"


def _write_per_frame(path: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


class EvaluationError(Exception):
    """Evaluation cannot run as asked; the message says why."""


def benchmark_name(info: dict) -> str | None:
    name = (info["source"].get("name") or "").lower().replace(" ", "")
    for key in PUBLISHED_NLL:
        if name.startswith(key.replace("-", "")) or name.startswith(key):
            return key
    return None


def _positions(lengths: list[int]) -> np.ndarray:
    """Each frame's index within its piece (pieces concatenated)."""
    return np.concatenate([np.arange(n) for n in lengths]) if lengths else np.zeros(0, int)


def _figures(nll: np.ndarray | None, accuracy: np.ndarray, counts, lengths: list[int], seed: int) -> dict:
    """NLL and accuracy with their 95 % intervals over pieces; ``counts`` (F, 3) per-frame TP, FP, FN."""
    counts = np.asarray(counts, np.float64)
    figures = {}
    if nll is not None:
        figures.update(_named_mean("nll", nll, lengths, seed))
    pooled = pooled_ratio(counts[:, 0], counts.sum(1), lengths, seed)
    figures.update({**_named_mean("accuracy", accuracy, lengths, seed),
                    "accuracy_pooled": pooled["mean"], "accuracy_pooled_ci95": pooled["ci95"]})
    return figures


def _by_position(nll: np.ndarray, lengths: list[int], seed: int) -> dict:
    """NLL over frames 1-100 of each piece and over the frames after them, with intervals."""
    positions = _positions(lengths)
    result = {}
    for name, inside in (("frames_1_100", positions < POSITION_SPLIT), ("frames_101_on", positions >= POSITION_SPLIT)):
        counts = piece_sums(inside.astype(np.float64), lengths)
        sums = piece_sums(np.where(inside, nll, 0.0), lengths)
        if counts.sum() == 0:
            result[name] = {"frames": 0, "pieces": 0}
            continue
        keep = counts > 0
        result[name] = {"frames": int(counts.sum()), "pieces": int(keep.sum()), "nll": float(sums.sum() / counts.sum()),
                        "nll_ci95": list(bootstrap_interval(sums[keep], counts[keep], seed=seed))}
    return result


def _named_mean(name: str, values: np.ndarray, lengths: list[int], seed: int) -> dict:
    """{name: mean per frame, name_ci95: its 95 % interval over pieces}."""
    mean = per_frame_mean(values, lengths, seed)
    return {name: mean["mean"], f"{name}_ci95": mean["ci95"]}


def floor_figures(records_dir: Path, frames: np.ndarray, lengths: list[int], seed: int = 0,
                  copy: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """The two floors' NLL and accuracies, with intervals over pieces, on ``frames`` (pieces of ``lengths``
    concatenated), fitted on the train split of ``records_dir``; ``copy``: copy_previous_accuracy's result
    for these frames, when the caller has it already."""
    frequencies = key_frequencies(load_info(records_dir), "train")
    train_frames, train_lengths = split_frames(records_dir, "train")
    previous_model = PreviousFrameModel(train_frames, train_lengths, frequencies)
    copy_accuracy, copy_counts = copy or copy_previous_accuracy(frames, lengths)
    random_accuracy, random_counts = bernoulli_accuracy(frames, frequencies, seed=seed)
    return {"independent_keys": _figures(bernoulli_nll(frames, frequencies), random_accuracy, random_counts,
                                         lengths, seed),
            "previous_frame": _figures(previous_model.nll(frames, lengths), copy_accuracy, copy_counts, lengths,
                                       seed)}


def _combined_error(errors: np.ndarray) -> float:
    """Standard error of a mean over frames from the frames' own AIS errors."""
    return float(math.sqrt((errors ** 2).sum()) / len(errors))


def _over_copy_floor(expected: np.ndarray, likely: np.ndarray, copy: np.ndarray, lengths: list[int],
                     seed: int) -> dict:
    """The accuracies minus the copy-previous floor's, frame by frame on the same pieces, with a paired
    95 % bootstrap interval over pieces: above the floor when the interval is above zero."""
    return {**_named_mean("accuracy", expected - copy, lengths, seed),
            **_named_mean("accuracy_likely_keys", likely - copy, lengths, seed)}


def _reverse_figures(reverse_nll: np.ndarray, errors: np.ndarray, nll: np.ndarray, lengths: list[int],
                     seed: int) -> dict:
    """Reverse AIS's NLL (reads high) with its interval, and its gap to AIS's (reads low)."""
    return {**_named_mean("nll_reverse", reverse_nll, lengths, seed),
            "nll_reverse_standard_error": _combined_error(errors),
            "nll_bracket_gap": float(reverse_nll.mean() - nll.mean()),
            "nll_reverse_by_position": _by_position(reverse_nll, lengths, seed)}


def _trained(run_dir: Path, weights: str) -> dict | None:
    """How far the run had trained when it was evaluated, and which epoch's weights were scored."""
    state_path = run_dir / "state.json"
    if not state_path.exists():
        return None
    state = json.loads(state_path.read_text())
    return {"epoch": state.get("epoch"), "finished": state.get("finished"),
            "weights_epoch": state.get("best_epoch") if weights == "best" and (run_dir / "best.weights.h5").exists()
            else state.get("epoch")}


def evaluate_run(run_dir: Path, records_dir: Path | None, config: EvaluateConfig, progress=None) -> dict:
    """Evaluates the run on one split; writes and returns ``eval-<split>.json`` in ``run_dir``."""
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
    started = time.monotonic()
    frames, visible_bias, hidden_bias, lengths, pieces = frames_and_biases(
        model, records_dir, config.split, config.batch_size, max_pieces=config.pieces)
    previous = previous_frames(frames, lengths)
    bar = progress(len(frames)) if progress else None
    nll, errors, reverse_nll, reverse_errors, accuracy, counts, likely_accuracy = [], [], [], [], [], [], []
    for start in range(0, len(frames), CHUNK):
        v = frames[start:start + CHUNK]
        bv, bh = visible_bias[start:start + CHUNK], hidden_bias[start:start + CHUNK]
        chunk_nll, error = frame_nll(model, v, bv, bh, config.ais_chains, config.ais_betas, config.seed + start)
        nll.append(chunk_nll)
        errors.append(error)
        if config.reverse_ais:
            chunk_nll, error = frame_nll(model, v, bv, bh, config.ais_chains, config.ais_betas, config.seed + start,
                                         reverse=True)
            reverse_nll.append(chunk_nll)
            reverse_errors.append(error)
        chunk_accuracy, chunk_counts, key_probabilities = expected_accuracy(
            model.rbm.W, bv, bh, previous[start:start + CHUNK], v, chains=config.accuracy_chains,
            burn_in=config.accuracy_burn_in, samples=config.accuracy_samples, seed=config.seed + start)
        accuracy.append(chunk_accuracy)
        counts.append(chunk_counts)
        likely_accuracy.append(frame_accuracy(key_probabilities > 0.5, v))
        if bar is not None:
            bar.update(len(v))
    if bar is not None:
        bar.close()
    nll_all, error_all = np.concatenate(nll), np.concatenate(errors)
    reverse_all = np.concatenate(reverse_nll) if config.reverse_ais else None
    accuracy, likely_accuracy = np.concatenate(accuracy), np.concatenate(likely_accuracy)
    offsets = np.cumsum([0] + lengths)
    per_sequence = [nll_all[a:b].mean() for a, b in zip(offsets[:-1], offsets[1:]) if b > a]
    copy_accuracy, copy_counts = copy_previous_accuracy(frames, lengths)
    floors = floor_figures(records_dir, frames, lengths, config.seed, copy=(copy_accuracy, copy_counts))
    benchmark = benchmark_name(info)
    result = {
        "stage": "evaluate",
        "run": str(run_dir.resolve()),
        "records": str(records_dir.resolve()),
        "split": config.split,
        "settings": asdict(config),
        "frames": int(len(nll_all)),
        "sequences": len(per_sequence),
        "sequences_in_split": info["splits"][config.split].get("examples"),
        **({"pieces_scored": pieces} if config.pieces else {}),
        **_figures(nll_all, accuracy, np.concatenate(counts), lengths, config.seed),
        # ACC of a deterministic prediction: every key more likely on than off under p(v_t | v_<t)
        **_named_mean("accuracy_likely_keys", likely_accuracy, lengths, config.seed),
        "over_copy_floor": _over_copy_floor(accuracy, likely_accuracy, copy_accuracy, lengths, config.seed),
        "nll_standard_error": _combined_error(error_all),
        "nll_per_sequence": float(np.mean(per_sequence)),
        "nll_by_position": _by_position(nll_all, lengths, config.seed),
        **(_reverse_figures(reverse_all, np.concatenate(reverse_errors), nll_all, lengths, config.seed)
           if config.reverse_ais else {}),
        "floors": floors,
        "bernoulli_nll": floors["independent_keys"]["nll"],
        "benchmark": benchmark,
        "published": PUBLISHED_NLL.get(benchmark or "", {}),
        "published_accuracy": PUBLISHED_ACCURACY.get(benchmark or "", {}),
        "seconds": round(time.monotonic() - started, 1),
        "trained": _trained(run_dir, config.weights),
        "conventions": CONVENTIONS,
        "per_frame": per_frame_path(run_dir, config.split).name,
    }
    _write_per_frame(per_frame_path(run_dir, config.split), pieces=np.asarray(pieces), lengths=np.asarray(lengths),
                     nll=nll_all, accuracy=accuracy, accuracy_likely_keys=likely_accuracy,
                     copy_floor_accuracy=copy_accuracy,
                     **({"nll_reverse": reverse_all} if config.reverse_ais else {}))
    write_json_atomic(run_dir / f"eval-{config.split}.json", result)
    return result


def _interval(figure: dict, name: str, scale: float = 1.0, digits: int = 2) -> str:
    low, high = figure.get(f"{name}_ci95", [float("nan")] * 2)
    return f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def result_table(result: dict) -> str:
    """The evaluation as a text table: this run, the two floors, the published figures."""
    header = f"{'model':<36} {'NLL/step':>8} {'95 % CI':>16} {'accuracy':>9} {'95 % CI':>14} {'pooled':>7}"
    lines = [header, "-" * len(header)]

    def row(name: str, figure: dict) -> str:
        nll = f"{figure['nll']:>8.3f} {_interval(figure, 'nll', digits=3):>16}" if "nll" in figure else " " * 25
        return (f"{name:<36} {nll} {100 * figure['accuracy']:>8.1f}% {_interval(figure, 'accuracy', 100, 1):>14} "
                f"{100 * figure['accuracy_pooled']:>6.1f}%")

    lines.append(row("this run", result))
    if "accuracy_likely_keys" in result:
        lines.append(f"{'this run, keys with p > 1/2':<36} {'':>25} {100 * result['accuracy_likely_keys']:>8.1f}% "
                     f"{_interval(result, 'accuracy_likely_keys', 100, 1):>14}   (deterministic, like the floors)")
    over = result.get("over_copy_floor")
    if over:
        lines.append(f"{'this run minus the copy floor':<36} {'':>25} {100 * over['accuracy']:>+8.1f}% "
                     f"{_interval(over, 'accuracy', 100, 1):>14}   (paired over pieces; keys with p > 1/2: "
                     f"{100 * over['accuracy_likely_keys']:+.1f}% {_interval(over, 'accuracy_likely_keys', 100, 1)})")
    if "nll_reverse" in result:
        lines.append(f"{'this run, reverse AIS (reads high)':<36} {result['nll_reverse']:>8.3f} "
                     f"{_interval(result, 'nll_reverse', digits=3):>16}   (AIS reads low: the NLL lies between)")
    lines.append(row("floor: previous frame (Markov keys)", result["floors"]["previous_frame"]))
    lines.append(row("floor: independent keys", result["floors"]["independent_keys"]))
    for name, value in result["published"].items():
        accuracy = result.get("published_accuracy", {}).get(name)
        lines.append(f"{name + ' (published)':<36} {value:>8.2f} {'':>16}"
                     + (f" {100 * accuracy:>8.1f}%" if accuracy else ""))
    if result["published"]:
        lines.append(f"{'independent keys (published)':<36} {'~' + str(PUBLISHED_BERNOULLI):>8}")
    positions = result.get("nll_by_position", {})
    for name, label in (("frames_1_100", "frames 1-100"), ("frames_101_on", "frames 101 on")):
        part = positions.get(name, {})
        if part.get("frames"):
            lines.append(f"{'this run, ' + label + ' of each piece':<36} {part['nll']:>8.3f} "
                         f"{_interval(part, 'nll', digits=3):>16}   ({part['frames']:,} frames of {part['pieces']} pieces)")
    subset = result.get("sequences_in_split") or result["sequences"]
    of = f" (the first by name of {subset})" if subset > result["sequences"] else ""
    lines.append(f"{result['frames']:,} frames of {result['sequences']} sequences{of}, split {result['split']}, "
                 f"{result['seconds']} s; AIS error of the NLL +-{result['nll_standard_error']:.3f}; "
                 "accuracy: expected per time step, pooled: Bay et al.")
    return "\n".join(lines)
