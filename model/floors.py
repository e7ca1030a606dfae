"""The trivial floors printed beside every evaluation: a model that loses to one has a bug until
shown otherwise. Both are fitted on the train split only.

- *Independent keys*: each key on with its frequency in the train split, independently of the
  others and of the past (the paper's "about 11 nats" baseline).
- *Previous frame*: as a prediction, the frame before (silence before the first); as a likelihood,
  each key a two-state Markov chain, p(on | on before) and p(on | off before) counted on the train
  split (add-one smoothed), its first frame from the key's frequency.
"""

from __future__ import annotations

import numpy as np

from pianorbm.model.accuracy import frame_accuracy, frame_counts
from pianorbm.model.rnn_rbm import MIN_KEY_PROBABILITY


def _log_probability(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.clip(p, MIN_KEY_PROBABILITY, 1 - MIN_KEY_PROBABILITY)
    return np.log(p), np.log(1 - p)


def bernoulli_nll(frames: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """NLL of each frame (F, 88) under independent keys with the given frequencies."""
    log_on, log_off = _log_probability(frequencies)
    return -(frames * log_on + (1 - frames) * log_off).sum(axis=1)


def previous_frames(frames: np.ndarray, lengths: list[int]) -> np.ndarray:
    """For each frame of the concatenated pieces (F, 88), the frame before it in its piece (silence first)."""
    previous = np.zeros_like(frames)
    previous[1:] = frames[:-1]
    previous[np.cumsum([0] + list(lengths[:-1]))] = 0
    return previous


class PreviousFrameModel:
    """Per key, p(on | previous on) and p(on | previous off), from training pieces."""

    def __init__(self, frames: np.ndarray, lengths: list[int], frequencies: np.ndarray):
        frames = frames.astype(bool)
        previous = previous_frames(frames, lengths).astype(bool)
        inside = np.ones(len(frames), bool)
        inside[np.cumsum([0] + list(lengths[:-1]))] = False  # first frames have no previous frame
        frames, previous = frames[inside], previous[inside]
        on_after_on = (frames & previous).sum(0)
        on_after_off = (frames & ~previous).sum(0)
        self.stay_on = (on_after_on + 1) / (previous.sum(0) + 2)
        self.turn_on = (on_after_off + 1) / ((~previous).sum(0) + 2)
        self.frequencies = frequencies

    def probabilities(self, frames: np.ndarray, lengths: list[int]) -> np.ndarray:
        """Each key's probability of being on in each frame (F, 88) given the frame before it."""
        previous = previous_frames(frames, lengths)
        p = np.where(previous > 0, self.stay_on, self.turn_on)
        p[np.cumsum([0] + list(lengths[:-1]))] = self.frequencies
        return p

    def nll(self, frames: np.ndarray, lengths: list[int]) -> np.ndarray:
        """NLL of each frame (F, 88) given the frame before it."""
        log_on, log_off = _log_probability(self.probabilities(frames, lengths))
        return -(frames * log_on + (1 - frames) * log_off).sum(axis=1)


def copy_previous_accuracy(frames: np.ndarray, lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """ACC of predicting each frame by the one before it (F,), and its (TP, FP, FN) (F, 3)."""
    previous = previous_frames(frames, lengths)
    return frame_accuracy(previous, frames), frame_counts(previous, frames)


def sampled_accuracy(probabilities: np.ndarray, frames: np.ndarray, draws: int = 64,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Expected ACC of each frame (F,) when every key is drawn on independently with its probability
    (F, 88) or (88,), estimated from ``draws`` samples per frame, and the expected (TP, FP, FN) (F, 3),
    exact since counts are linear in the keys."""
    rng = np.random.default_rng(seed)
    truth = frames.astype(bool)
    probabilities = np.broadcast_to(probabilities, frames.shape)
    accuracy = np.zeros(len(frames))
    for _ in range(draws):
        accuracy += frame_accuracy(rng.random(frames.shape) < probabilities, truth)
    truth = truth.astype(np.float64)
    counts = np.stack([(truth * probabilities).sum(1), ((1 - truth) * probabilities).sum(1),
                       (truth * (1 - probabilities)).sum(1)], axis=1)
    return accuracy / draws, counts
