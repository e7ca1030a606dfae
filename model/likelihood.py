"""Negative log-likelihood of frames under a trained RNN-RBM: each frame's RBM (its biases from the
true past), its free energy, and log Z by AIS. Shared by evaluation and by training's validation NLL.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK = 2048  # frames per compiled AIS / Gibbs call


_BIASES = weakref.WeakKeyDictionary()


def _compiled_biases(model):
    """The model's call as one graph for any batch and length (run eagerly, the recurrence steps
    through Python frame by frame: 16 s instead of 0.5 s for Nottingham's valid split)."""
    from pianorbm.common.quiet import tf

    if model not in _BIASES:
        _BIASES[model] = tf.function(lambda rolls: model(rolls),
                                     input_signature=[tf.TensorSpec([None, None, model.visible], tf.float32)])
    return _BIASES[model]


def frames_and_biases(model, records_dir: Path, split: str, batch_size: int = 16, max_frames: int | None = None,
                      max_pieces: int | None = None, rows: np.ndarray | None = None):
    """Every frame of a split (F, 88) with its RBM's biases (F, 88), (F, hidden), each sequence run from
    the initial state, and the sequences' lengths and piece names, in the records' fixed order. With
    ``max_frames``, only the first batches of pieces up to at least that many frames; with
    ``max_pieces``, only the first that many pieces by name (rolls.records.first_pieces); with
    ``rows`` (sorted indices into the split's frames), only those frames and their biases are kept
    (the lengths and names stay the split's)."""
    from pianorbm.common.quiet import tf

    from pianorbm.rolls.dataset import make_dataset
    from pianorbm.rolls.records import first_pieces, load_info

    pieces = first_pieces(load_info(records_dir), split, max_pieces) if max_pieces is not None else None
    frames, visible_bias, hidden_bias, lengths, names = [], [], [], [], []
    biases, seen = _compiled_biases(model), 0  # seen: frames of the batches before this one
    for rolls, batch_lengths, batch_names in make_dataset(records_dir, split, seq_len=None, batch_size=batch_size,
                                                          shuffle=False, pieces=pieces):
        bv, bh = biases(rolls)
        mask = tf.sequence_mask(batch_lengths, tf.shape(rolls)[1])
        batch_frames = batch_lengths.numpy().tolist()
        chosen = None
        if rows is not None:  # the rows of this batch, counted from its first frame
            chosen = rows[(rows >= seen) & (rows < seen + sum(batch_frames))] - seen
        for kept, values in ((frames, rolls), (visible_bias, bv), (hidden_bias, bh)):
            flat = tf.boolean_mask(values, mask)
            kept.append((flat if chosen is None else tf.gather(flat, chosen)).numpy())
        seen += sum(batch_frames)
        lengths += batch_frames
        names += [name.decode() for name in batch_names.numpy()]
        if max_frames is not None and seen >= max_frames:
            break
    return (*(np.concatenate(x) for x in (frames, visible_bias, hidden_bias)), lengths, names)


def frame_nll(model, frames, visible_bias, hidden_bias, chains: int, betas: int, seed: int, reverse: bool = False):
    """-log p of each frame (at most CHUNK) under its own RBM, log Z by AIS; and log Z's standard error.
    ``reverse``: log Z by reverse AIS from the frame itself, which reads the NLL high where AIS reads
    it low (model.ais)."""
    from pianorbm.model.ais import log_partition

    free = model.rbm.free_energy(frames, visible_bias, hidden_bias).numpy().astype(np.float64)
    log_z, error = log_partition(model.rbm.W, visible_bias, hidden_bias, chains=chains, betas=betas, seed=seed,
                                 frames_per_batch=CHUNK, data=frames if reverse else None)
    return free + log_z, error


def split_nll(model, records_dir: Path, split: str, chains: int, betas: int, seed: int = 0,
              max_frames: int | None = None) -> float:
    """Mean NLL per frame of a split (or of its first pieces up to ``max_frames``)."""
    frames, visible_bias, hidden_bias, _, _ = frames_and_biases(model, records_dir, split, max_frames=max_frames)
    nll = [frame_nll(model, frames[i:i + CHUNK], visible_bias[i:i + CHUNK], hidden_bias[i:i + CHUNK], chains, betas,
                     seed + i)[0] for i in range(0, len(frames), CHUNK)]
    return float(np.concatenate(nll).mean())


@dataclass(frozen=True)
class ValidationNll:
    """How training estimates its validation NLL, the figure that keeps the best weights and stops it."""

    reverse: bool  # log Z by reverse AIS (reads high) rather than AIS (reads low)
    chains: int
    betas: int
    frames: int  # how many validation frames are scored
    spread: bool  # frames evenly spaced over the whole split, else the first pieces' frames
    train_frames_between: int  # by default one validation about every this many training frames

    def describe(self) -> str:
        where = "spread evenly over the split" if self.spread else "of the first validation pieces"
        return (f"{'reverse AIS' if self.reverse else 'AIS'}, {self.chains} chains x {self.betas:,} temperatures, "
                f"on {self.frames:,} frames {where}")


# reverse: its reading errs high by an amount that grows slowly with the model's sharpness, so a
# falling figure is a real improvement (docs/ais-check.md); quick: the earlier criterion, whose
# reading falls as the model sharpens, whether or not it fits better
# reverse on 125 frames about every 1,500,000 training frames: validating stays under 15 % of a
# run's wall time (docs/validation-schedule.md: the earlier 500 frames every 400,000 took most of it)
VALIDATION_NLL = {"reverse": ValidationNll(reverse=True, chains=2, betas=16_000, frames=125, spread=True,
                                           train_frames_between=1_500_000),
                  "quick": ValidationNll(reverse=False, chains=8, betas=100, frames=2_500, spread=False,
                                         train_frames_between=50_000)}


def validation_nll(model, records_dir: Path, validation: ValidationNll, seed: int = 0) -> float:
    """Mean NLL per frame of the validation frames ``validation`` picks (the same ones every time)."""
    if not validation.spread:
        return split_nll(model, records_dir, "valid", validation.chains, validation.betas, seed,
                         max_frames=validation.frames)
    from pianorbm.rolls.records import load_info

    total = load_info(records_dir)["splits"]["valid"]["frames"]
    pick = np.unique(np.linspace(0, total - 1, min(validation.frames, total)).astype(int))
    frames, visible_bias, hidden_bias, _, _ = frames_and_biases(model, records_dir, "valid", rows=pick)
    nll, _ = frame_nll(model, frames, visible_bias, hidden_bias, validation.chains, validation.betas, seed,
                       reverse=validation.reverse)
    return float(nll.mean())
