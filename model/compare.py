"""Paired comparison of two evaluated runs on the same frames: per-frame differences, with a 95 %
bootstrap interval that resamples pieces (the same pieces for both runs; the versions of one song
together). Two runs' unpaired intervals overlap far more often than their difference is unclear:
most of each interval is the choice of pieces, which a paired difference cancels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pianorbm.model.bootstrap import per_frame_mean

FIGURES = ("nll", "nll_reverse", "accuracy", "accuracy_likely_keys")


class ComparisonError(Exception):
    """The runs cannot be compared frame by frame; the message says why."""


def _per_frame(run_dir: Path, split: str) -> dict:
    from pianorbm.model.evaluate import per_frame_path

    path = per_frame_path(run_dir, split)
    if not path.exists():
        raise ComparisonError(f"{path} does not exist: run `pianorbm evaluate {run_dir} --split {split}` first "
                              "(evaluations before per-frame figures were kept need rerunning)")
    with np.load(path) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _in_piece_order(arrays: dict, pieces: np.ndarray) -> dict:
    """Per-frame arrays rearranged so that their pieces come in the order ``pieces``."""
    offsets = np.concatenate([[0], np.cumsum(arrays["lengths"])])
    where = {name: i for i, name in enumerate(arrays["pieces"])}
    order = [where[name] for name in pieces]
    frames = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in order])
    per_piece = ("pieces", "lengths", "groups")
    reordered = {name: values[frames] for name, values in arrays.items() if name not in per_piece}
    return {**reordered, **{name: arrays[name][order] for name in per_piece if name in arrays}}


def _paired(run_a: Path, run_b: Path, split: str, order=None) -> tuple[dict, dict]:
    """Both runs' per-frame arrays, their pieces in one order (``order``, else A's); refuses
    evaluations of different pieces."""
    a, b = _per_frame(Path(run_a), split), _per_frame(Path(run_b), split)
    named = "pieces" in a and "pieces" in b and len(set(a["pieces"])) == len(a["pieces"])
    same = sorted(a["pieces"]) == sorted(b["pieces"]) if named else np.array_equal(a["lengths"], b["lengths"])
    if order is not None and named:
        same = same and sorted(a["pieces"]) == sorted(order)
    if not same:
        raise ComparisonError(f"{run_a} and {run_b} were evaluated on different pieces of {split} "
                              f"({len(a['lengths'])} and {len(b['lengths'])} pieces, {a['lengths'].sum()} and "
                              f"{b['lengths'].sum()} frames): evaluate both with the same --pieces")
    if named:
        order = a["pieces"] if order is None else order
        a, b = _in_piece_order(a, order), _in_piece_order(b, order)
    return a, b


def compare_run_pairs(pairs: list[tuple[Path, Path]], split: str = "test", seed: int = 0) -> dict:
    """A minus B for each figure every evaluation holds, averaged over the (A, B) pairs (e.g. one per
    training seed) frame by frame: {figure: {"mean", "ci95"}}, plus the frames, pieces and pairs
    compared. The interval is over pieces only: it holds the runs fixed."""
    if not pairs:
        raise ComparisonError("no pair of runs to compare")
    aligned = [_paired(*pairs[0], split)]
    order = aligned[0][0].get("pieces")
    aligned += [_paired(run_a, run_b, split, order) for run_a, run_b in pairs[1:]]
    lengths = aligned[0][0]["lengths"]
    if any(not np.array_equal(a["lengths"], lengths) for a, _ in aligned):
        raise ComparisonError("the pairs were evaluated on different pieces: evaluate all with the same --pieces")
    groups = aligned[0][0].get("groups")  # versions of one song resampled together (evaluations since 2026-12-05)
    result = {"split": split, "frames": int(lengths.sum()), "pieces": len(lengths), "pairs": len(pairs),
              "groups": len(set(groups.tolist())) if groups is not None else len(lengths)}
    for figure in FIGURES:
        if all(figure in a and figure in b for a, b in aligned):
            differences = np.mean([a[figure] - b[figure] for a, b in aligned], axis=0)
            result[figure] = per_frame_mean(differences, lengths.tolist(), seed, groups)
    return result


def compare_runs(run_a: Path, run_b: Path, split: str = "test", seed: int = 0) -> dict:
    """Run A minus run B, frame by frame: ``compare_run_pairs`` of the one pair. Pairs the frames
    piece by piece (evaluations that name their pieces may list them in different orders); refuses
    evaluations of different pieces."""
    return compare_run_pairs([(run_a, run_b)], split, seed)


def comparison_table(result: dict, name_a: str, name_b: str) -> str:
    grouped = (f", versions of a song drawn together ({result['groups']} groups)"
               if result["groups"] < result["pieces"] else "")
    lines = [f"{name_a} minus {name_b}, paired over {result['frames']:,} frames of {result['pieces']} pieces "
             f"({result['split']}); 95 % bootstrap interval over pieces{grouped}:"]
    for figure in FIGURES:
        if figure in result:
            scale, unit = (100, " points") if figure.startswith("accuracy") else (1, " nats")
            mean, (low, high) = result[figure]["mean"], result[figure]["ci95"]
            verdict = "A lower" if high < 0 else "A higher" if low > 0 else "no clear difference"
            lines.append(f"  {figure:<22} {scale * mean:+8.3f}{unit}  [{scale * low:+.3f}, {scale * high:+.3f}]  "
                         f"{verdict}")
    return "\n".join(lines)
