"""build-records: a curated folder (or a benchmark pickle) becomes sharded piano-roll TFRecords.

Splits are decided by the piece, not the file: each piece's split key is a hash of its grid notes
with pitches taken relative to its lowest note, so duplicates and transposed copies of one piece
always land in the same split, and the assignment never depends on the order or number of files.
Transposition augmentation is applied to the train split only. A rerun with the same inputs and
settings finds ``dataset.json`` up to date and does nothing; anything else rebuilds every shard,
each written atomically, with ``dataset.json`` written last.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from common.files import write_json_atomic
from curate.file_curation import parse_song
from curate.isolation import Failure, IsolatedPool
from curate.manifest import read_manifest
from curate.scores import clean_relpath
from pipelines.keys import estimate_key
from pipelines.pianoroll import HIGHEST_PITCH, KEYS, LOWEST_PITCH, active_cells, notes_to_grid
from pipelines.records import DATASET_INFO, FORMAT_VERSION, SPLITS, encode_example, shard_name, write_shard
from pipelines.records_config import DEFAULT_STEPS_PER_QUARTER, RecordsConfig
from pipelines.standard_datasets import guess_steps_per_quarter, load_benchmark_pickle, sequence_to_cells


class BuildError(Exception):
    """A build that cannot start or finish (bad input, impossible split): the message says why."""


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


def _shift_cells(cells: np.ndarray, shift: int) -> np.ndarray | None:
    keys = cells % KEYS + shift
    if len(keys) and (keys.min() < 0 or keys.max() >= KEYS):
        return None
    return cells + shift


def roll_clean_file(clean_dir: str, relpath: str, sha256: str, config: RecordsConfig) -> dict:
    """Reads one clean MIDI file and returns its piece (as a dict, for the worker pipe)."""
    song, _ = parse_song((Path(clean_dir) / clean_relpath(relpath)).read_bytes())
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
            if shift is not None and _shift_cells(cells, shift) is not None:
                cells = _shift_cells(cells, shift)
                break
        if shift is None:
            return {**piece, "dropped": "key_shift_out_of_range"}
    return {**piece, "cells": cells, "split_key": split_key(cells), "key": key.name, "shift": shift}


def _assign_split(piece: Piece, fractions) -> str:
    position = int(piece.split_key[:15], 16) / 16**15
    bounds = np.cumsum(fractions)
    return SPLITS[min(int(np.searchsorted(bounds, position, side="right")), 2)]


def _fingerprint(config: RecordsConfig, source: dict) -> str:
    text = json.dumps({"config": config.to_dict(), "source": source, "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _pieces_from_clean(clean_dir: Path, config: RecordsConfig, jobs: int | None, progress) -> tuple[list, dict, dict]:
    try:
        manifest = read_manifest(clean_dir)
    except FileNotFoundError as err:
        raise BuildError(f"{clean_dir} has no manifest: run `pianorbm curate` on the raw folder first") from err
    kept = manifest[manifest.status == "kept"].sort_values("path")
    if kept.empty:
        raise BuildError(f"the curated corpus in {clean_dir} keeps no file: nothing to build records from")
    source = {"kind": "curated", "path": str(clean_dir.resolve()),
              "inputs_sha256": hashlib.sha256("".join(f"{p}\t{s}\n" for p, s in zip(kept.path, kept.sha256))
                                              .encode()).hexdigest(), "files": len(kept)}
    tasks = [(str(clean_dir), path, sha, config) for path, sha in zip(kept.path, kept.sha256)]
    bar = progress(len(tasks)) if progress else None
    pieces, dropped = [], {}
    pool = IsolatedPool(roll_clean_file, jobs or os.cpu_count() or 1, timeout_s=120.0, memory_mb=4096)
    for _, _, outcome in pool.map(tasks):
        if bar is not None:
            bar.update(1)
        if isinstance(outcome, Failure):
            dropped[f"roll_{outcome.kind}"] = dropped.get(f"roll_{outcome.kind}", 0) + 1
            continue
        if "dropped" in outcome:
            dropped[outcome["dropped"]] = dropped.get(outcome["dropped"], 0) + 1
            continue
        piece = Piece(outcome["name"], outcome["cells"], outcome["num_frames"], outcome["split_key"],
                      outcome["sha256"], outcome["key"], outcome["shift"], counts=outcome["counts"])
        piece.split = _assign_split(piece, config.split)
        pieces.append(piece)
    if bar is not None:
        bar.close()
    pieces.sort(key=lambda p: p.name)
    return pieces, dropped, source


def _pieces_from_pickle(path: Path, config: RecordsConfig) -> tuple[list, dict, dict]:
    data = load_benchmark_pickle(path)
    source = {"kind": "benchmark", "path": str(path.resolve()), "name": path.stem,
              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    pieces, dropped = [], {}
    for split in SPLITS:
        for index, sequence in enumerate(data[split]):
            cells, frames, outside = sequence_to_cells(sequence)
            if outside:
                dropped["pitches_out_of_range"] = dropped.get("pitches_out_of_range", 0) + outside
            key = estimate_key(cells % KEYS + LOWEST_PITCH, np.ones(len(cells)))
            piece = Piece(f"{split}/{index:04d}", cells, frames, split_key(cells), key=key.name, split=split)
            pieces.append(piece)
    return pieces, dropped, source


def _examples(pieces: list[Piece], transpose: tuple[int, int], dropped: dict) -> list[tuple[Piece, int, bytes]]:
    out = []
    for piece in pieces:
        shifts = range(transpose[0], transpose[1] + 1) if piece.split == "train" else [0]
        for shift in shifts:
            cells = piece.cells if shift == 0 else _shift_cells(piece.cells, shift)
            if cells is None:
                dropped["transpositions_out_of_range"] = dropped.get("transpositions_out_of_range", 0) + 1
                continue
            out.append((piece, shift, encode_example(piece.name, cells, piece.num_frames, shift)))
    return out


def build_records(out_dir: Path, config: RecordsConfig, *, clean_dir: Path | None = None,
                  pickle_path: Path | None = None, jobs: int | None = None, progress=None) -> dict:
    """Builds (or finds up to date) the records in ``out_dir``; returns the dataset info."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    if (clean_dir is None) == (pickle_path is None):
        raise BuildError("give a curated folder or a benchmark pickle, not both")
    if clean_dir is not None and not Path(clean_dir).is_dir():
        raise BuildError(f"{clean_dir} is not a folder")
    if pickle_path is not None and not Path(pickle_path).is_file():
        raise BuildError(f"{pickle_path} is not a file")
    if pickle_path is not None:
        guessed = guess_steps_per_quarter(pickle_path)
        if guessed and config.steps_per_quarter == DEFAULT_STEPS_PER_QUARTER and config.dt is None:
            config = replace(config, steps_per_quarter=guessed)
        pieces, dropped, source = _pieces_from_pickle(Path(pickle_path), config)
    else:
        pieces, dropped, source = _pieces_from_clean(Path(clean_dir), config, jobs, progress)

    fingerprint = _fingerprint(config, source)
    info_path = out_dir / DATASET_INFO
    if info_path.exists():
        previous = json.loads(info_path.read_text())
        if previous.get("fingerprint") == fingerprint and all((out_dir / s["file"]).exists()
                                                               for split in previous["splits"].values()
                                                               for s in split["shards"]):
            return {**previous, "up_to_date": True}
    if not pieces:
        raise BuildError("no piece survived rolling: " + (", ".join(f"{k}: {v}" for k, v in dropped.items())
                                                          or "the corpus is empty"))
    if source["kind"] == "curated":
        for split, fraction in zip(SPLITS, config.split):
            if fraction > 0 and not any(p.split == split for p in pieces):
                raise BuildError(f"the split {list(config.split)} leaves {split!r} empty with {len(pieces)} pieces; "
                                 "use more pieces or a split without it (e.g. --split 1,0,0)")

    out_dir.mkdir(parents=True, exist_ok=True)
    examples = _examples(pieces, config.transpose, dropped)
    splits, written = {}, set()
    for split in SPLITS:
        members = [e for e in examples if e[0].split == split]
        count = max(1, min(config.shards, len(members)))
        shards = []
        for index in range(count):
            path = out_dir / shard_name(split, index, count)
            shards.append(write_shard(path, [e[2] for e in members[index::count]]))
            written.add(path.name)
        originals = [p for p in pieces if p.split == split]
        splits[split] = {"pieces": len(originals), "examples": len(members),
                         "frames": int(sum(p.num_frames for p in originals)),
                         "example_frames": int(sum(e[0].num_frames for e in members)), "shards": shards}
    for stale in out_dir.glob("*.tfrecord"):
        if stale.name not in written:
            stale.unlink()
    histograms = {split: np.zeros(KEYS, dtype=np.int64) for split in SPLITS}
    for piece in pieces:  # the pieces as they are, without the transposed copies
        histograms[piece.split] += np.bincount(piece.cells % KEYS, minlength=KEYS)
    counts: dict[str, int] = {}
    for piece in pieces:
        for name, value in piece.counts.items():
            counts[name] = counts.get(name, 0) + value
    info = {
        "stage": "build-records",
        "format": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "source": source,
        "config": config.to_dict(),
        "keys": KEYS,
        "lowest_pitch": LOWEST_PITCH,
        "highest_pitch": HIGHEST_PITCH,
        "steps_per_quarter": config.steps_per_quarter,
        "dt": config.dt,
        "splits": splits,
        "pitch_histograms": {split: histogram.tolist() for split, histogram in histograms.items()},
        "dropped": {**dropped, **{k: v for k, v in counts.items() if v}},
        "pieces": [{"piece": p.name, "sha256": p.sha256, "split": p.split, "frames": p.num_frames,
                    "key": p.key, "key_shift": p.shift} for p in pieces],
        "seconds": round(time.monotonic() - started, 2),
    }
    write_json_atomic(out_dir / DATASET_INFO, info)
    return info
