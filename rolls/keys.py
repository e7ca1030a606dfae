"""Key estimation from a duration-weighted pitch-class profile (Krumhansl-Kessler), and the
transposition that brings a piece to C major or A minor.

It needs only the notes, so it runs in microseconds; music21's ``analyze('key')`` implements the
same Krumhansl-Schmuckler correlation on a parsed score, which costs a full music21 parse per piece
(compared in benchmarks/records_speed.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_CLASS_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" or "minor"
    correlation: float  # with the best profile, in [-1, 1]

    @property
    def name(self) -> str:
        return f"{PITCH_CLASS_NAMES[self.tonic]} {self.mode}"

    def shift_to_c_major_or_a_minor(self) -> int:
        """Semitones (-6..5) that move this key to C major (major) or A minor (minor)."""
        target = 0 if self.mode == "major" else 9
        return (target - self.tonic + 6) % 12 - 6


def _rotations(profile: np.ndarray) -> np.ndarray:
    return np.stack([np.roll(profile, tonic) for tonic in range(12)])


_TEMPLATES = np.concatenate([_rotations(MAJOR_PROFILE), _rotations(MINOR_PROFILE)])


def key_correlations(histogram: np.ndarray) -> np.ndarray:
    """Correlation of a pitch-class histogram (12,) with the 24 key profiles (12 major, 12 minor)."""
    h = np.asarray(histogram, dtype=np.float64)
    h = h - h.mean()
    t = _TEMPLATES - _TEMPLATES.mean(axis=1, keepdims=True)
    return (t @ h) / (np.linalg.norm(t, axis=1) * np.linalg.norm(h) + 1e-12)


def estimate_key(pitches: np.ndarray, weights: np.ndarray) -> Key:
    """The key whose profile correlates best with the weighted pitch-class histogram."""
    histogram = np.bincount(np.asarray(pitches, dtype=np.int64) % 12, weights=weights, minlength=12)
    if not histogram.any():
        return Key(0, "major", 0.0)
    scores = key_correlations(histogram)
    best = int(np.argmax(scores))
    return Key(best % 12, "major" if best < 12 else "minor", float(scores[best]))
