"""Whole pieces in batches of similar length: the training input that matches evaluation.

Evaluation runs every piece from the learned initial state to its end, so training does the same:
a batch holds whole pieces, padded to a common length, and the trainer walks it in chunks of
``chunk`` frames, carrying the recurrent state from one chunk to the next (truncated
backpropagation through time). Pieces are sorted into buckets by length, rounded up to a multiple
of ``chunk // 16`` frames, so the compiled steps see a handful of shapes while padding stays small
(JSB: 89 % of the computed frames are real, against about half with windows of 100). A batch of
pieces shorter than a chunk holds proportionally more of them, so every batch has about
``batch_size * chunk`` frames.

Batches are rows of a split's examples, held in memory as sparse cells (about 8 bytes per active
cell: Nottingham with seven transpositions is ~40 MB); the order of an epoch is a function of
(seed, epoch) alone, so a resumed run skips exactly the batches it has done.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pianorbm.rolls.pianoroll import KEYS
from pianorbm.rolls.records import read_split

QUANTA_PER_CHUNK = 16


def bucket_length(frames: int, chunk: int) -> int:
    """A piece's length rounded up to its bucket's."""
    quantum = max(1, chunk // QUANTA_PER_CHUNK)
    return max(quantum, math.ceil(frames / quantum) * quantum)


class PieceBatches:
    """The examples of one split, batched by length."""

    def __init__(self, records_dir: Path, split: str, *, chunk: int, batch_size: int):
        examples = read_split(records_dir, split)
        self.cells = [e["cells"] for e in examples]
        self.frames = np.array([e["num_frames"] for e in examples], np.int64)
        self.chunk, self.batch_size = chunk, batch_size
        self.buckets = np.array([bucket_length(int(n), chunk) for n in self.frames], np.int64)

    def rows_per_batch(self, length: int) -> int:
        return max(1, round(self.batch_size * self.chunk / min(length, self.chunk)))

    def epoch(self, seed: int, epoch: int, shuffle: bool = True) -> list[np.ndarray]:
        """The batches of one epoch, as arrays of example indices (every example exactly once).

        Pieces are laid out longest bucket first (shuffled within a bucket) and cut into batches, each
        as many rows as its first, longest piece's bucket asks for: a bucket's last batch is filled
        with the longest pieces of the next buckets instead of empty rows."""
        rng = np.random.default_rng([seed, epoch, 17])
        order = []
        for length in np.unique(self.buckets)[::-1]:
            members = np.flatnonzero(self.buckets == length)
            order.append(rng.permutation(members) if shuffle else members)
        order = np.concatenate(order) if order else np.zeros(0, np.int64)
        batches, start = [], 0
        while start < len(order):
            size = self.rows_per_batch(int(self.buckets[order[start]]))
            batches.append(order[start:start + size])
            start += size
        if shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def dense(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 rolls (batch, bucket length of its first piece, 88) and int64 lengths (batch,); the
        last batch of an epoch, if short, is filled with empty rows of length 0 (one shape per bucket)."""
        length = int(self.buckets[rows[0]])
        count = self.rows_per_batch(length)
        rolls = np.zeros((count, length * KEYS), np.float32)
        lengths = np.zeros(count, np.int64)
        for row, index in enumerate(rows):
            rolls[row, self.cells[index]] = 1.0
            lengths[row] = self.frames[index]
        return rolls.reshape(count, length, KEYS), lengths

    def chunks(self, rolls: np.ndarray, lengths: np.ndarray):
        """(frames, lengths within the chunk) of each chunk of a batch that holds a real frame."""
        for start in range(0, rolls.shape[1], self.chunk):
            chunk = rolls[:, start:start + self.chunk]
            chunk_lengths = np.clip(lengths - start, 0, chunk.shape[1]).astype(np.int64)
            if not chunk_lengths.any():
                return
            yield chunk, chunk_lengths
