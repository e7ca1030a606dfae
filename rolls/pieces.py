"""One piece of a records build: rolling a clean file, its split, its examples and their shards.

Every function here depends only on its arguments, so the local build (rolls.build_records)
and the Apache Beam build (rolls.beam_records) make the same pieces in any order: a piece's
split key is a hash of its notes (onsets in quarter notes, pitches relative to the lowest), not of
its grid, so duplicates, transposed copies and every resolution of one piece land in the same
split; an example's shard is a hash of its name.
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
    near_duplicate_of: str = ""  # the first path of the piece's near-duplicate group, if it is in one


ONSET_RESOLUTION = 48  # split keys round onsets to 1/48 of a quarter note, finer than any grid


def split_key(onsets: np.ndarray, pitches: np.ndarray) -> str:
    """Hash of a piece's distinct (onset, pitch) pairs, onsets in quarter notes counted from the first
    (rounded to 1/48), pitches from the lowest: one key whatever the time grid (``--steps-per-quarter``,
    ``--dt``), the file's tick resolution or a transposition, so every records build of a corpus puts a
    piece, its duplicates and its transposed copies in the same split."""
    onsets, pitches = np.asarray(onsets, np.float64), np.asarray(pitches, np.int64)
    if not len(onsets):
        return hashlib.sha256(b"").hexdigest()
    steps = np.round((onsets - onsets.min()) * ONSET_RESOLUTION).astype(np.int64)
    pairs = np.unique(steps * 128 + pitches - pitches.min())
    return hashlib.sha256(pairs.astype("<i8").tobytes()).hexdigest()


def cells_split_key(cells: np.ndarray) -> str:
    """split_key of a roll given as cells (a benchmark's pieces, which come on one grid only)."""
    return split_key(cells // KEYS, cells % KEYS)


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
    return {**piece, "cells": cells, "split_key": split_key(song.notes.onset / song.ticks_per_beat, song.notes.pitch),
            "key": key.name, "shift": shift}


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


def place_piece(piece: Piece, groups: dict[str, tuple[str, str]], fractions) -> None:
    """Sets a piece's split: a grouped piece takes its group's key (``groups``: path -> (first path,
    key)), so near-duplicates never straddle splits; any other piece its own content's key."""
    piece.near_duplicate_of, key = groups.get(piece.name, ("", piece.split_key))
    piece.split = assign_split(key, fractions)


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
            "near_duplicate_of": piece.near_duplicate_of,
            "histogram": np.bincount(piece.cells % KEYS, minlength=KEYS).tolist()}


