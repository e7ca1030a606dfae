"""Statistics of piano rolls as music, for samples beside the data they imitate.

Objective evaluation in the manner of Yang & Lerch (2020): features computed per piece, compared as
distributions between the generated set and the training set by their *overlap* (the shared area
of the two normalised histograms on common bins: 1 when they coincide, 0 when disjoint). Rolls are
binary (T, 88), column 0 = MIDI 21; a note is a run of active frames of one key (as written to
MIDI). Everything is numpy: MusPy and pretty_midi compute the same kinds of features from MIDI
files, but neither knows a frame grid, and both would add a dependency for a few lines each.

Per piece: notes per second, voices (keys sounding in a sounding frame: mean, max, share above the
data's usual maximum), semitone-clash rate (sounding frames with two keys a semitone apart),
pitch-class histogram and its key fit (best Krumhansl-Kessler correlation), pitch range, note
lengths and inter-onset intervals (in frames), silent-frame rate.
"""

from __future__ import annotations

import numpy as np

from pianorbm.rolls.keys import key_correlations
from pianorbm.rolls.pianoroll import LOWEST_PITCH, roll_to_note_spans

SCALAR_FEATURES = ("notes_per_second", "voices_mean", "voices_max", "clash_rate", "key_fit", "pitch_span",
                   "silent_rate")
USUAL_MAX_QUANTILE = 0.99  # "the data's usual maximum" of voices: this quantile over the data's sounding frames
DATA_RANGE_QUANTILES = (0.05, 0.95)  # "the data's range" of a per-piece feature: between these quantiles of its pieces


def _key_fit(histogram: np.ndarray) -> float:
    return float(key_correlations(histogram).max()) if histogram.any() else 0.0


def piece_features(roll: np.ndarray, seconds_per_frame: float) -> dict:
    """The features of one roll (T, 88)."""
    roll = np.asarray(roll, dtype=bool)
    voices = roll.sum(1)
    sounding = voices > 0
    notes = roll_to_note_spans(roll)
    onsets = np.unique(notes.start)
    clashes = (roll[:, 1:] & roll[:, :-1]).any(1)
    keys = np.nonzero(roll)[1]
    histogram = np.bincount((keys + LOWEST_PITCH) % 12, minlength=12).astype(np.float64)
    return {
        "frames": int(len(roll)),
        "notes_per_second": float(len(notes.start) / max(len(roll) * seconds_per_frame, 1e-9)),
        "voices_mean": float(voices[sounding].mean()) if sounding.any() else 0.0,
        "voices_max": int(voices.max()) if len(voices) else 0,
        "clash_rate": float(clashes[sounding].mean()) if sounding.any() else 0.0,
        "key_fit": _key_fit(histogram),
        "pitch_span": int(keys.max() - keys.min()) if len(keys) else 0,
        "pitch_low": int(keys.min() + LOWEST_PITCH) if len(keys) else None,
        "pitch_high": int(keys.max() + LOWEST_PITCH) if len(keys) else None,
        "silent_rate": float(1 - sounding.mean()) if len(roll) else 1.0,
        "pitch_classes": histogram.tolist(),
        "note_lengths": (notes.end - notes.start).tolist(),
        "inter_onsets": np.diff(onsets).tolist(),
        "voices": voices[sounding].tolist(),
    }


def overlap(a: list[float], b: list[float], bins: int = 20) -> float | None:
    """Shared area of the normalised histograms of ``a`` and ``b`` on common bins (Yang & Lerch's
    overlapped area, with histograms in place of kernel density estimates)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not len(a) or not len(b):
        return None
    low, high = min(a.min(), b.min()), max(a.max(), b.max())
    if high == low:
        return 1.0
    edges = np.linspace(low, high, bins + 1)
    pa = np.histogram(a, edges)[0] / len(a)
    pb = np.histogram(b, edges)[0] / len(b)
    return float(np.minimum(pa, pb).sum())


def set_statistics(rolls: list[np.ndarray], seconds_per_frame: float, usual_max_voices: int | None = None) -> dict:
    """Summary of a set of rolls: per-feature means, pooled distributions, and the voices-above-usual
    share (``usual_max_voices`` from the data; this set's own when None)."""
    pieces = [piece_features(roll, seconds_per_frame) for roll in rolls]
    voices = np.concatenate([np.asarray(p["voices"], np.float64) for p in pieces]) if pieces else np.zeros(0)
    usual = usual_max_voices if usual_max_voices is not None else \
        (int(np.quantile(voices, USUAL_MAX_QUANTILE)) if len(voices) else 0)
    pitch_classes = np.sum([p["pitch_classes"] for p in pieces], axis=0) if pieces else np.zeros(12)
    pooled = {name: [x for p in pieces for x in p[name]] for name in ("note_lengths", "inter_onsets")}
    return {
        "pieces": len(pieces),
        "frames": int(sum(p["frames"] for p in pieces)),
        **{name: float(np.mean([p[name] for p in pieces])) if pieces else None for name in SCALAR_FEATURES},
        "voices_max": int(max((p["voices_max"] for p in pieces), default=0)),
        "usual_max_voices": usual,
        "voices_above_usual": float((voices > usual).mean()) if len(voices) else 0.0,
        "pitch_low": min((p["pitch_low"] for p in pieces if p["pitch_low"] is not None), default=None),
        "pitch_high": max((p["pitch_high"] for p in pieces if p["pitch_high"] is not None), default=None),
        "pitch_class_histogram": (pitch_classes / max(pitch_classes.sum(), 1)).tolist(),
        "note_length_median": float(np.median(pooled["note_lengths"])) if pooled["note_lengths"] else None,
        "inter_onset_median": float(np.median(pooled["inter_onsets"])) if pooled["inter_onsets"] else None,
        "_per_piece": {name: [p[name] for p in pieces] for name in SCALAR_FEATURES},
        "_pooled": pooled,
    }


def data_range(values: list[float]) -> list[float] | None:
    """The range a per-piece feature keeps in the data: its 5 % and 95 % quantiles over pieces."""
    return np.quantile(np.asarray(values, np.float64), DATA_RANGE_QUANTILES).tolist() if len(values) else None


def compare(samples: dict, data: dict) -> dict:
    """Samples beside data: the pitch-class histogram distance (total variation, 0-1); per feature,
    the overlap of the two distributions, the data's range over pieces and the share of samples in it."""
    distance = 0.5 * float(np.abs(np.array(samples["pitch_class_histogram"])
                                  - np.array(data["pitch_class_histogram"])).sum())
    overlaps = {name: overlap(samples["_per_piece"][name], data["_per_piece"][name]) for name in SCALAR_FEATURES}
    overlaps.update({name: overlap(samples["_pooled"][name], data.get("_pooled", {}).get(name, []))
                     for name in ("note_lengths", "inter_onsets")})
    ranges = {name: data_range(data["_per_piece"][name]) for name in SCALAR_FEATURES}
    within = {name: float(np.mean([ranges[name][0] <= value <= ranges[name][1]
                                   for value in samples["_per_piece"][name]]))
              for name in SCALAR_FEATURES if ranges[name] and samples["_per_piece"][name]}
    return {"pitch_class_distance": distance, "overlap": overlaps, "data_range": ranges, "within_data_range": within}


def public(statistics: dict) -> dict:
    """The summary without the per-piece lists (for samples.json)."""
    return {k: v for k, v in statistics.items() if not k.startswith("_")}


def shippable(statistics: dict) -> dict:
    """The summary with the per-piece scalar features but not the pooled note lists (small enough to
    ship beside a pretrained model and still compare distributions)."""
    return {k: v for k, v in statistics.items() if k != "_pooled"}
