"""Uncertainty over pieces: a figure computed on a test split varies with which pieces the split
happens to hold, far more than with the estimator's own noise (AIS's error is ~0.001 nats, the
spread over pieces ~0.1). The 95 % interval resamples whole pieces with replacement, or, given
``groups`` (one id per piece), whole groups: versions of one song are not independent draws, and
resampling them one by one would understate the spread."""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000


def piece_sums(values: np.ndarray, lengths: list[int]) -> np.ndarray:
    """Sum of per-frame ``values`` within each piece (pieces concatenated in order)."""
    return np.add.reduceat(values, np.cumsum([0] + list(lengths[:-1]))) if len(lengths) else np.zeros(0)


def group_totals(values: np.ndarray, groups) -> np.ndarray:
    """Per-piece ``values`` summed within each group (groups: one id per piece, any hashable)."""
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    return np.bincount(index.ravel(), weights=np.asarray(values, np.float64))


def bootstrap_interval(sums: np.ndarray, counts: np.ndarray, *, groups=None, resamples: int = RESAMPLES,
                       seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of sum(sums) / sum(counts) over pieces (or, with ``groups``, groups of
    pieces) drawn with replacement: a per-frame mean with every frame weighted equally, its
    uncertainty from the choice of pieces."""
    sums, counts = np.asarray(sums, np.float64), np.asarray(counts, np.float64)
    if len(sums) == 0 or counts.sum() == 0:
        return float("nan"), float("nan")
    if groups is not None:
        sums, counts = group_totals(sums, groups), group_totals(counts, groups)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[draws].sum(1) / np.maximum(counts[draws].sum(1), 1e-12)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def per_frame_mean(values: np.ndarray, lengths: list[int], seed: int = 0, groups=None) -> dict:
    """{"mean", "ci95"} of per-frame ``values`` over pieces of the given lengths (resampled by
    ``groups`` when given)."""
    sums = piece_sums(np.asarray(values, np.float64), lengths)
    return {"mean": float(np.sum(values) / max(len(values), 1)),
            "ci95": list(bootstrap_interval(sums, np.asarray(lengths), groups=groups, seed=seed))}


def pooled_ratio(numerator: np.ndarray, denominator: np.ndarray, lengths: list[int], seed: int = 0,
                 groups=None) -> dict:
    """{"mean", "ci95"} of sum(numerator) / sum(denominator) (per-frame arrays), over pieces."""
    top, bottom = piece_sums(numerator, lengths), piece_sums(denominator, lengths)
    return {"mean": float(np.sum(numerator) / max(np.sum(denominator), 1e-12)),
            "ci95": list(bootstrap_interval(top, bottom, groups=groups, seed=seed))}
