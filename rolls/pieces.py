"""One piece of a records build: rolling a clean file, its split, its examples and their shards.

Every function here depends only on its arguments, so the local build (rolls.build_records)
and the Apache Beam build (rolls.beam_records) make the same pieces in any order: a piece's
split key is a hash of its grid notes with pitches taken relative to its lowest note (duplicates
and transposed copies of one piece land in the same split), and an example's shard is a hash of
its name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from pianorbm.common import storage
from pianorbm.curate.file_curation import parse_song
from pianorbm.common.isolation import Failure
from pianorbm.curate.scores import clean_relpath
from pianorbm.rolls.keys import estimate_key
from pianorbm.rolls.pianoroll import KEYS, active_cells, notes_to_grid
from pianorbm.rolls.records import SPLITS
from pianorbm.rolls.records_config import RecordsConfig

ROLL_TIMEOUT_S = 120.0  # per clean file: they are already checked, so this only guards against the unforeseen
ROLL_MEMORY_MB = 4096


@dataclass
class Piece:
    """One piece's sparse roll and facts, before splitting and augmentation."""

    name: str
    cells: np.ndarray
    num_frames: int
    split_key: str
    sha256: str = ""
    key: str = ""
    shift: int = 0  # key-normalising transposition applied
    split: str = ""
    counts: dict = field(default_factory=dict)


def split_key(cells: np.ndarray) -> str:
    """Hash of a roll with pitches relative to its lowest: equal for transposed copies."""
    steps, keys = cells // KEYS, cells % KEYS
    relative = steps * KEYS + keys - (keys.min() if len(keys) else 0)
    return hashlib.sha256(np.sort(relative).astype("<i8").tobytes()).hexdigest()


def shift_cells(cells: np.ndarray, shift: int) -> np.ndarray | None:
    keys = cells % KEYS + shift
    if len(keys) and (keys.min() < 0 or keys.max() >= KEYS):
        return None
    return cells + shift


def roll_clean_file(clean_dir: str, relpath: str, sha256: str, config: RecordsConfig) -> dict:
    """Reads one clean MIDI file and returns its piece (as a dict, for the worker pipe)."""
    song, _ = parse_song(storage.read_bytes(storage.join(clean_dir, clean_relpath(relpath))))
    grid, counts = notes_to_grid(song, song.notes, steps_per_quarter=config.steps_per_quarter, dt=config.dt,
                                 sustain=config.sustain, out_of_range=config.out_of_range)
    frames = grid.num_steps
    piece = {"name": relpath, "sha256": sha256, "num_frames": frames, "counts": counts}
    if frames > config.max_frames:
        return {**piece, "dropped": "too_many_frames"}
    if frames < config.min_frames:
        return {**piece, "dropped": "too_few_frames"}
    key = estimate_key(grid.pitch, grid.end - grid.start)
    cells = active_cells(grid)
    shift = 0
    if config.key_normalise:
        wanted = key.shift_to_c_major_or_a_minor()
        for shift in (wanted, wanted - 12, wanted + 12, None):
            if shift is not None and shift_cells(cells, shift) is not None:
                cells = shift_cells(cells, shift)
                break
        if shift is None:
            return {**piece, "dropped": "key_shift_out_of_range"}
    return {**piece, "cells": cells, "split_key": split_key(cells), "key": key.name, "shift": shift}


def shard_of(piece: str, transpose: int, count: int) -> int:
    """The shard of one example (a piece, or one transposition of it): a hash of its name, so any
    worker can place it without knowing the others."""
    return int.from_bytes(hashlib.sha256(f"{piece}\t{transpose}".encode()).digest()[:8], "big") % count


def shard_count(shards: int, examples: int) -> int:
    return max(1, min(shards, examples))


def assign_split(split_key_hex: str, fractions) -> str:
    """A piece's split from its content hash: the same wherever and in whatever order it is rolled."""
    position = int(split_key_hex[:15], 16) / 16**15
    bounds = np.cumsum(fractions)
    return SPLITS[min(int(np.searchsorted(bounds, position, side="right")), 2)]


def dropped_reason(outcome) -> str | None:
    """Why a rolled file gives no piece (a worker failure or a length rule), or None."""
    if isinstance(outcome, Failure):
        return f"roll_{outcome.kind}"
    return outcome.get("dropped")


def transpositions(piece: Piece, transpose: tuple[int, int]):
    """(shift, cells or None when out of range) of each copy of a piece: train gets the range."""
    shifts = range(transpose[0], transpose[1] + 1) if piece.split == "train" else [0]
    for shift in shifts:
        yield shift, (piece.cells if shift == 0 else shift_cells(piece.cells, shift))


def piece_summary(piece: Piece, examples: int) -> dict:
    """What dataset.json needs of one piece, without its cells."""
    return {"piece": piece.name, "sha256": piece.sha256, "split": piece.split, "frames": piece.num_frames,
            "key": piece.key, "key_shift": piece.shift, "examples": examples, "counts": piece.counts,
            "histogram": np.bincount(piece.cells % KEYS, minlength=KEYS).tolist()}


