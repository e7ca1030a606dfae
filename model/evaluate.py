"""``pianorbm evaluate``: negative log-likelihood per time step (AIS) and frame-level accuracy.

Conventions (the paper's, stated because papers differ):
- every frame of every sequence is scored, the first one predicted from the learned initial state;
- NLL is averaged per frame over the whole split (``nll``); the mean of per-sequence averages is
  reported beside it (``nll_per_sequence``);
- log p(v_t | v_<t) = -F_t(v_t) - log Z_t, with log Z_t estimated by AIS (model.ais); the standard
  error combines the frames' AIS errors. AIS reads the NLL low when its schedule is short for the
  model's sharpness; reverse AIS from each true frame (``nll_reverse``, on by default) reads it high,
  so the two bracket it and their gap says whether the schedule was long enough;
- two accuracies, each beside the floor measured the same way: the expected ACC_t = TP / (TP + FP
  + FN) over samples of p(v_t | v_<t) from parallel tempering (model.tempering: samples that do not
  depend on the chain's start), every time step weighted equally, beside the per-key Markov floor
  sampled the same way; and the ACC of a deterministic prediction, the keys whose probability
  given the past (averaged conditional means) is above 1/2, beside the copy-previous floor. Bay et
  al.'s pooled ratio is reported beside the expected one. The published accuracies state no
  protocol beyond "expected frame-level accuracy", so they are shown as such;
- every figure has a 95 % bootstrap interval over pieces (model.bootstrap).
The floors (independent keys, previous frame) are fitted on the training split only.
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pianorbm.common import storage
from pianorbm.common.files import write_bytes_atomic, write_json_atomic
from pianorbm.model.config import EvaluateConfig
from pianorbm.model.accuracy import expected_accuracy, frame_accuracy
from pianorbm.model.bootstrap import bootstrap_interval, per_frame_mean, piece_sums, pooled_ratio
from pianorbm.model.floors import (PreviousFrameModel, bernoulli_nll, copy_previous_accuracy, previous_frames,
                                   sampled_accuracy)
from pianorbm.model.likelihood import CHUNK, frame_nll, frames_and_biases
from pianorbm.model.run_folder import RunFolderError, load_run_model, read_state, records_of
from pianorbm.rolls.dataset import split_frames
from pianorbm.rolls.records import RecordsError, key_frequencies, load_info, piece_groups

# Boulanger-Lewandowski et al. (2012), test NLL per time step.
PUBLISHED_NLL = {
    "piano-midi": {"RNN-RBM": 7.09, "RNN-NADE": 7.05},
    "nottingham": {"RNN-RBM": 2.39, "RNN-NADE": 2.31},
    "musedata": {"RNN-RBM": 6.01, "RNN-NADE": 5.60},
    "jsb": {"RNN-RBM": 6.27, "RNN-NADE": 5.19},
}
PUBLISHED_BERNOULLI = 11.0  # "about 11" for the independent Bernoulli baseline
# Boulanger-Lewandowski et al. (2012), Table 1's expected frame-level accuracy; protocol not stated.
PUBLISHED_ACCURACY = {"piano-midi": {"RNN-RBM": 0.2892}, "nottingham": {"RNN-RBM": 0.7540},
                      "musedata": {"RNN-RBM": 0.3402}, "jsb": {"RNN-RBM": 0.3312}}
POSITION_SPLIT = 100  # NLL is also reported over frames 1-100 of each piece and over the frames after them
CONVENTIONS = ("NLL: per frame over the split, first frame included (predicted from the learned initial state), "
               "log Z by AIS (reads low); nll_reverse: log Z by reverse AIS from each true frame (reads high); "
               "accuracy: expected ACC_t = TP/(TP+FP+FN) per time step over samples of p(v_t | v_<t) drawn by "
               "the settings' sampler, averaged with every time step weighted equally (a silent frame predicted "
               "silent scores 1), beside the per-key Markov floor sampled the same way (over_markov_floor); "
               "accuracy_pooled: Bay et al.'s sum TP / sum (TP+FP+FN) over all frames and samples; "
               "accuracy_likely_keys: ACC per time step of the keys whose probability given the past (the average "
               "of the sampler's conditional means) is above 1/2, a deterministic prediction, beside the "
               "copy-previous floor (over_copy_floor); differences to a floor: paired bootstrap over pieces; "
               "published accuracies: protocol not stated; "
               "intervals: 95 % bootstrap over pieces, the versions of one song (a near-duplicate group of the "
               "records, resampled_groups) drawn together; floors fitted on the train split only")


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


def _figures(nll: np.ndarray | None, accuracy: np.ndarray, counts, lengths: list[int], seed: int,
             groups=None) -> dict:
    """NLL and accuracy with their 95 % intervals over pieces; ``counts`` (F, 3) per-frame TP, FP, FN."""
    counts = np.asarray(counts, np.float64)
    figures = {}
    if nll is not None:
        figures.update(_named_mean("nll", nll, lengths, seed, groups))
    pooled = pooled_ratio(counts[:, 0], counts.sum(1), lengths, seed, groups)
    figures.update({**_named_mean("accuracy", accuracy, lengths, seed, groups),
                    "accuracy_pooled": pooled["mean"], "accuracy_pooled_ci95": pooled["ci95"]})
    return figures


def _by_position(nll: np.ndarray, lengths: list[int], seed: int, groups=None) -> dict:
    """NLL over frames 1-100 of each piece and over the frames after them, with intervals."""
    positions = _positions(lengths)
    result = {}
    for name, in_part in (("frames_1_100", positions < POSITION_SPLIT), ("frames_101_on", positions >= POSITION_SPLIT)):
        counts = piece_sums(in_part.astype(np.float64), lengths)
        sums = piece_sums(np.where(in_part, nll, 0.0), lengths)
        if counts.sum() == 0:
            result[name] = {"frames": 0, "pieces": 0}
            continue
        keep = counts > 0
        kept_groups = None if groups is None else np.asarray(groups)[keep]
        result[name] = {"frames": int(counts.sum()), "pieces": int(keep.sum()), "nll": float(sums.sum() / counts.sum()),
                        "nll_ci95": list(bootstrap_interval(sums[keep], counts[keep], groups=kept_groups, seed=seed))}
    return result


def _named_mean(name: str, values: np.ndarray, lengths: list[int], seed: int, groups=None) -> dict:
    """{name: mean per frame, name_ci95: its 95 % interval over pieces}."""
    mean = per_frame_mean(values, lengths, seed, groups)
    return {name: mean["mean"], f"{name}_ci95": mean["ci95"]}


def floor_figures(records_dir: Path, frames: np.ndarray, lengths: list[int], seed: int = 0,
                  copy: tuple[np.ndarray, np.ndarray] | None = None, groups=None) -> dict:
    """The two floors' NLL and accuracies, with intervals over pieces, on ``frames`` (pieces of ``lengths``
    concatenated), fitted on the train split of ``records_dir``; ``copy``: copy_previous_accuracy's result
    for these frames, when the caller has it already."""
    frequencies = key_frequencies(load_info(records_dir), "train")
    train_frames, train_lengths = split_frames(records_dir, "train")
    previous_model = PreviousFrameModel(train_frames, train_lengths, frequencies)
    copy_accuracy, copy_counts = copy or copy_previous_accuracy(frames, lengths)
    random_accuracy, random_counts = sampled_accuracy(frequencies, frames, seed=seed)
    markov_accuracy, _ = sampled_accuracy(previous_model.probabilities(frames, lengths), frames, seed=seed)
    return {"independent_keys": _figures(bernoulli_nll(frames, frequencies), random_accuracy, random_counts,
                                         lengths, seed, groups),
            "previous_frame": {**_figures(previous_model.nll(frames, lengths), copy_accuracy, copy_counts, lengths,
                                          seed, groups),
                               **_named_mean("accuracy_sampled", markov_accuracy, lengths, seed, groups)},
            "per_frame": {"copy": copy_accuracy, "markov_sampled": markov_accuracy}}


def _combined_error(errors: np.ndarray) -> float:
    """Standard error of a mean over frames from the frames' own AIS errors."""
    return float(math.sqrt((errors ** 2).sum()) / len(errors))


def _over_floor(name: str, accuracy: np.ndarray, floor: np.ndarray, lengths: list[int], seed: int,
                groups=None) -> dict:
    """An accuracy minus a floor's, frame by frame on the same pieces, with a paired 95 % bootstrap
    interval over pieces: above the floor when the interval is above zero."""
    return _named_mean(name, accuracy - floor, lengths, seed, groups)


def _reverse_figures(reverse_nll: np.ndarray, errors: np.ndarray, nll: np.ndarray, lengths: list[int],
                     seed: int, groups=None) -> dict:
    """Reverse AIS's NLL (reads high) with its interval, and its gap to AIS's (reads low)."""
    return {**_named_mean("nll_reverse", reverse_nll, lengths, seed, groups),
            "nll_reverse_standard_error": _combined_error(errors),
            "nll_bracket_gap": float(reverse_nll.mean() - nll.mean()),
            "nll_reverse_by_position": _by_position(reverse_nll, lengths, seed, groups)}


def _trained(run_dir: Path, weights: str) -> dict | None:
    """How far the run had trained when it was evaluated, and which epoch's weights were scored."""
    if not (run_dir / "state.json").exists():
        return None
    state = read_state(run_dir)
    return {"epoch": state.get("epoch"), "finished": state.get("finished"),
            "weights_epoch": state.get("best_epoch") if weights == "best" and (run_dir / "best.weights.h5").exists()
            else state.get("epoch")}


@dataclass
class FrameScores:
    """Per-frame figures of one split, pieces concatenated: (F,) arrays unless said."""

    frames: np.ndarray  # (F, 88) the true frames
    lengths: list[int]  # frames per piece
    pieces: list[str]
    nll: np.ndarray  # AIS (reads low)
    nll_errors: np.ndarray  # each frame's AIS standard error
    reverse_nll: np.ndarray | None  # reverse AIS (reads high), when asked for
    reverse_errors: np.ndarray | None
    accuracy: np.ndarray  # expected ACC over samples
    counts: np.ndarray  # (F, 3) TP, FP, FN summed over samples
    likely_accuracy: np.ndarray  # ACC of the keys with p > 1/2
    swap_rate: np.ndarray | None  # the tempered sampler's accepted share of swaps per neighbouring pair
    copy_accuracy: np.ndarray  # ACC of the copy-previous floor
    copy_counts: np.ndarray  # (F, 3) its TP, FP, FN


def draw_accuracy(model, frames, visible_bias, hidden_bias, previous, config: EvaluateConfig, seed: int) -> dict:
    """The sampler's figures for frames (at most CHUNK) whose chains start at ``previous``: per-frame
    expected ACC, (TP, FP, FN), the ACC of the keys with p > 1/2, and the swap rates."""
    replicas = config.accuracy_replicas if config.accuracy_sampler == "tempered" else 1
    drawn = expected_accuracy(model.rbm.W, visible_bias, hidden_bias, previous, frames, chains=config.accuracy_chains,
                              burn_in=config.accuracy_burn_in, samples=config.accuracy_samples, seed=seed,
                              replicas=replicas)
    return {"accuracy": drawn["accuracy"], "counts": drawn["counts"],
            "likely": frame_accuracy(drawn["key_probability"] > 0.5, frames),
            "swaps": drawn["swap_rate"] * len(frames) if replicas > 1 else None}


def _joined(parts: dict, frames: int) -> dict:
    swaps = parts.pop("swaps")
    joined = {name: np.concatenate(values) if values and values[0] is not None else None
              for name, values in parts.items()}
    joined["swap_rate"] = np.sum(swaps, axis=0) / frames if swaps and swaps[0] is not None else None
    return joined


def score_frames(model, records_dir: Path, config: EvaluateConfig, progress=None, likelihood: bool = True
                 ) -> FrameScores:
    """Every frame of the split scored under ``model``: NLL by AIS and reverse AIS (unless
    ``likelihood`` is False), the accuracies."""
    frames, visible_bias, hidden_bias, lengths, pieces = frames_and_biases(
        model, records_dir, config.split, config.batch_size, max_pieces=config.pieces)
    previous = previous_frames(frames, lengths)
    bar = progress(len(frames)) if progress else None
    parts = {name: [] for name in ("nll", "errors", "reverse_nll", "reverse_errors", "accuracy", "counts", "likely",
                                   "swaps")}
    for start in range(0, len(frames), CHUNK):
        v = frames[start:start + CHUNK]
        bv, bh = visible_bias[start:start + CHUNK], hidden_bias[start:start + CHUNK]
        if likelihood:
            chunk_nll, error = frame_nll(model, v, bv, bh, config.ais_chains, config.ais_betas, config.seed + start)
            parts["nll"].append(chunk_nll)
            parts["errors"].append(error)
        if likelihood and config.reverse_ais:
            chunk_nll, error = frame_nll(model, v, bv, bh, config.ais_chains, config.ais_betas, config.seed + start,
                                         reverse=True)
            parts["reverse_nll"].append(chunk_nll)
            parts["reverse_errors"].append(error)
        for name, values in draw_accuracy(model, v, bv, bh, previous[start:start + CHUNK], config,
                                          config.seed + start).items():
            parts[name].append(values)
        if bar is not None:
            bar.update(len(v))
    if bar is not None:
        bar.close()
    joined = _joined(parts, len(frames))
    copy_accuracy, copy_counts = copy_previous_accuracy(frames, lengths)
    return FrameScores(frames=frames, lengths=lengths, pieces=pieces, nll=joined["nll"], nll_errors=joined["errors"],
                       reverse_nll=joined["reverse_nll"], reverse_errors=joined["reverse_errors"],
                       accuracy=joined["accuracy"], counts=joined["counts"], likely_accuracy=joined["likely"],
                       swap_rate=joined["swap_rate"], copy_accuracy=copy_accuracy, copy_counts=copy_counts)


def accuracy_summary(scores: FrameScores, records_dir: Path, seed: int, groups=None) -> dict:
    """The accuracies with their intervals, each beside its like-for-like floor, and the floors;
    ``groups``: each piece's resampling group (rolls.records.piece_groups), None for pieces alone."""
    lengths = scores.lengths
    floors = floor_figures(records_dir, scores.frames, lengths, seed, copy=(scores.copy_accuracy, scores.copy_counts),
                           groups=groups)
    floor_frames = floors.pop("per_frame")
    pooled = pooled_ratio(scores.counts[:, 0].astype(np.float64), scores.counts.sum(1).astype(np.float64), lengths,
                          seed, groups)
    return {
        **_named_mean("accuracy", scores.accuracy, lengths, seed, groups),
        "accuracy_pooled": pooled["mean"], "accuracy_pooled_ci95": pooled["ci95"],
        # ACC of a deterministic prediction: every key more likely on than off under p(v_t | v_<t)
        **_named_mean("accuracy_likely_keys", scores.likely_accuracy, lengths, seed, groups),
        "over_markov_floor": _over_floor("accuracy", scores.accuracy, floor_frames["markov_sampled"], lengths, seed,
                                         groups),
        "over_copy_floor": _over_floor("accuracy_likely_keys", scores.likely_accuracy, floor_frames["copy"], lengths,
                                       seed, groups),
        **({"swap_rate": [round(float(rate), 4) for rate in scores.swap_rate]} if scores.swap_rate is not None else {}),
        "floors": floors,
    }


def summarise(scores: FrameScores, records_dir: Path, info: dict, config: EvaluateConfig) -> dict:
    """The evaluation's figures from its per-frame scores: means with intervals over pieces, the floors
    beside them on the same frames, the published figures of a benchmark."""
    lengths, seed = scores.lengths, config.seed
    groups = piece_groups(info, scores.pieces)
    offsets = np.cumsum([0] + lengths)
    per_sequence = [scores.nll[a:b].mean() for a, b in zip(offsets[:-1], offsets[1:]) if b > a]
    accuracies = accuracy_summary(scores, records_dir, seed, groups)
    benchmark = benchmark_name(info)
    return {
        "split": config.split,
        "settings": asdict(config),
        "frames": int(len(scores.nll)),
        "sequences": len(per_sequence),
        "sequences_in_split": info["splits"][config.split].get("examples"),
        **({"pieces_scored": scores.pieces} if config.pieces else {}),
        "resampled_groups": len(set(groups)),
        **_named_mean("nll", scores.nll, lengths, seed, groups),
        **accuracies,
        "nll_standard_error": _combined_error(scores.nll_errors),
        "nll_per_sequence": float(np.mean(per_sequence)),
        "nll_by_position": _by_position(scores.nll, lengths, seed, groups),
        **(_reverse_figures(scores.reverse_nll, scores.reverse_errors, scores.nll, lengths, seed, groups)
           if scores.reverse_nll is not None else {}),
        "bernoulli_nll": accuracies["floors"]["independent_keys"]["nll"],
        "benchmark": benchmark,
        "published": PUBLISHED_NLL.get(benchmark or "", {}),
        "published_accuracy": PUBLISHED_ACCURACY.get(benchmark or "", {}),
    }


def evaluate_run(run_dir: Path, records_dir: Path | None, config: EvaluateConfig, progress=None) -> dict:
    """Evaluates the run on one split; writes ``eval-<split>.json`` (paths in it relative to ``run_dir``)
    and its per-frame figures beside it, and returns the JSON's content."""
    run_dir = Path(run_dir)
    try:
        records_dir = Path(records_dir) if records_dir else records_of(run_dir)
        info = load_info(records_dir)
        splits = [name for name, split in info["splits"].items() if split["frames"]]
        if config.split not in splits:
            raise EvaluationError(f"{records_dir} has no frames in split {config.split!r}; "
                                  f"splits with frames: {', '.join(splits) or 'none'}")
        model = load_run_model(run_dir, config.weights)
    except (RunFolderError, RecordsError) as err:
        raise EvaluationError(str(err)) from err
    started = time.monotonic()
    scores = score_frames(model, records_dir, config, progress)
    figures = summarise(scores, records_dir, info, config)
    result = {"stage": "evaluate", "run": run_dir.resolve().name,
              "records": storage.relative(records_dir, run_dir), **figures,
              "seconds": round(time.monotonic() - started, 1), "evaluated_on": time.strftime("%Y-%m-%d"),
              "trained": _trained(run_dir, config.weights), "conventions": CONVENTIONS,
              "per_frame": per_frame_path(run_dir, config.split).name}
    _write_per_frame(per_frame_path(run_dir, config.split), pieces=np.asarray(scores.pieces),
                     groups=np.asarray(piece_groups(info, scores.pieces)), lengths=np.asarray(scores.lengths), nll=scores.nll, accuracy=scores.accuracy,
                     accuracy_likely_keys=scores.likely_accuracy, copy_floor_accuracy=scores.copy_accuracy,
                     **({"nll_reverse": scores.reverse_nll} if scores.reverse_nll is not None else {}))
    write_json_atomic(run_dir / f"eval-{config.split}.json", result)
    return result


ACCURACY_KEYS = ("accuracy", "accuracy_ci95", "accuracy_pooled", "accuracy_pooled_ci95", "accuracy_likely_keys",
                 "accuracy_likely_keys_ci95", "over_markov_floor", "over_copy_floor", "swap_rate", "floors")


def _likelihood_intervals(kept: dict, seed: int, groups) -> dict:
    """The NLL figures' intervals redrawn from the per-frame file (the means do not change)."""
    lengths = kept["lengths"].tolist()
    figures = {**_named_mean("nll", kept["nll"], lengths, seed, groups), "resampled_groups": len(set(groups)),
               "nll_by_position": _by_position(kept["nll"], lengths, seed, groups)}
    if "nll_reverse" in kept:
        figures.update({**_named_mean("nll_reverse", kept["nll_reverse"], lengths, seed, groups),
                        "nll_reverse_by_position": _by_position(kept["nll_reverse"], lengths, seed, groups)})
    return figures


def rescore_accuracy(run_dir: Path, config: EvaluateConfig) -> dict:
    """Redraws the accuracies of an existing ``eval-<split>.json`` with ``config``'s sampler settings and
    keeps its likelihood figures (hours of AIS on a large split): the same frames, checked against the
    per-frame file. Rewrites both files; ``accuracy_evaluated_on`` dates the new figures."""
    run_dir = Path(run_dir)
    path = run_dir / f"eval-{config.split}.json"
    result = json.loads(path.read_text())
    records_dir = (run_dir / result["records"]).resolve()
    kept = dict(np.load(per_frame_path(run_dir, config.split)))
    settings = {**result["settings"], **{k: v for k, v in asdict(config).items() if k.startswith("accuracy_")}}
    scored = EvaluateConfig(**{**settings, "pieces": result["settings"].get("pieces")})
    scores = score_frames(load_run_model(run_dir, scored.weights), records_dir, scored, likelihood=False)
    if scores.pieces != kept["pieces"].tolist() or scores.lengths != kept["lengths"].tolist():
        raise EvaluationError(f"{path} was scored on other frames than {records_dir} now holds")
    groups = piece_groups(load_info(records_dir), scores.pieces)
    result = {**{k: v for k, v in result.items() if k not in ACCURACY_KEYS},
              **accuracy_summary(scores, records_dir, scored.seed, groups), "settings": asdict(scored),
              **_likelihood_intervals(kept, scored.seed, groups),
              "conventions": CONVENTIONS, "accuracy_evaluated_on": time.strftime("%Y-%m-%d")}
    result["bernoulli_nll"] = result["floors"]["independent_keys"]["nll"]
    _write_per_frame(per_frame_path(run_dir, config.split), **{
        **kept, "groups": np.asarray(groups), "accuracy": scores.accuracy, "accuracy_likely_keys": scores.likely_accuracy,
        "copy_floor_accuracy": scores.copy_accuracy})
    write_json_atomic(path, result)
    return result
