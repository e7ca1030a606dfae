"""build-records: a curated folder (or a benchmark pickle) becomes sharded piano-roll TFRecords.

Splits are decided by the piece, not the file, and a group of near-duplicates (curate's manifest)
goes to one split whole; shards are decided by the example (see rolls.pieces),
so the assignment never depends on the order or number of files or workers. Transposition augmentation is applied to the train split only. A rerun with the same inputs and
settings finds ``dataset.json`` up to date and does nothing; anything else rebuilds every shard,
each written atomically, with ``dataset.json`` written last.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pianorbm.common import storage
from pianorbm.common.files import file_sha256, json_text
from pianorbm.common.isolation import IsolatedPool
from pianorbm.curate.manifest import read_manifest
from pianorbm.rolls.keys import estimate_key
from pianorbm.rolls.pianoroll import HIGHEST_PITCH, KEYS, LOWEST_PITCH, MAX_PEDAL_BEATS
from pianorbm.rolls.pieces import (ROLL_MEMORY_MB, ROLL_TIMEOUT_S, Piece, dropped_reason, piece_summary, place_piece,
                              roll_clean_file, shard_count, shard_of, cells_split_key, transpositions)
from pianorbm.rolls.records import DATASET_INFO, FORMAT_VERSION, SPLITS, encode_example, shard_name, write_shard
from pianorbm.rolls.records_config import DEFAULT_STEPS_PER_QUARTER, RecordsConfig
from pianorbm.rolls.standard_datasets import guess_steps_per_quarter, load_benchmark_pickle, sequence_to_cells


class BuildError(Exception):
    """A build that cannot start or finish (bad input, impossible split): the message says why."""


def _fingerprint(config: RecordsConfig, source: dict) -> str:
    """A hash of what the records are made of: the settings, the source's content (not where it lies, so
    a moved or copied folder is the same source) and the format."""
    content = {name: value for name, value in source.items() if name != "path"}
    if source.get("kind") == "curated" and config.sustain:  # MIDI's pedal, read by this policy
        content["max_pedal_beats"] = MAX_PEDAL_BEATS
    text = json.dumps({"config": config.to_dict(), "source": content, "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _clean_source(clean_dir) -> tuple[dict, list[tuple[str, str]], dict[str, tuple[str, str]]]:
    """The curated folder's description for the fingerprint, its kept (path, sha256) pairs, and the
    near-duplicate group of each grouped path: (the group's first path, the split key every member
    takes: that file's content hash)."""
    try:
        manifest = read_manifest(clean_dir)
    except FileNotFoundError as err:
        raise BuildError(f"{clean_dir} has no manifest: run `pianorbm curate` on the raw folder first") from err
    kept = manifest[manifest.status == "kept"].sort_values("path")
    if kept.empty:
        raise BuildError(f"the curated corpus in {clean_dir} keeps no file: nothing to build records from")
    files = list(zip(kept.path, kept.sha256))
    groups = {}
    if "near_duplicate_of" in kept:
        content = dict(zip(kept.path, kept.content_hash))
        groups = {path: (first, content[first]) for path, first in zip(kept.path, kept.near_duplicate_of)
                  if isinstance(first, str) and first in content}
    listing = "".join(f"{p}\t{s}\t{groups.get(p, ('',))[0]}\n" for p, s in files)
    where = str(clean_dir) if storage.is_url(clean_dir) else str(Path(clean_dir).resolve())
    source = {"kind": "curated", "path": where, "inputs_sha256": hashlib.sha256(listing.encode()).hexdigest(), "files": len(files),
              "near_duplicate_groups": len({first for first, _ in groups.values()})}
    return source, files, groups


def _pieces_from_clean(clean_dir: Path, files: list, groups: dict, config: RecordsConfig,
                       jobs: int | None, progress) -> tuple[list, dict]:
    tasks = [(str(clean_dir), path, sha, config) for path, sha in files]
    bar = progress(len(tasks)) if progress else None
    pieces, dropped = [], {}
    pool = IsolatedPool(roll_clean_file, jobs or os.cpu_count() or 1, timeout_s=ROLL_TIMEOUT_S, memory_mb=ROLL_MEMORY_MB)
    for _, _, outcome in pool.map(tasks):
        if bar is not None:
            bar.update(1)
        reason = dropped_reason(outcome)
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        piece = Piece(outcome["name"], outcome["cells"], outcome["num_frames"], outcome["split_key"],
                      outcome["sha256"], outcome["key"], outcome["shift"], counts=outcome["counts"])
        place_piece(piece, groups, config.split)
        pieces.append(piece)
    if bar is not None:
        bar.close()
    pieces.sort(key=lambda p: p.name)
    return pieces, dropped


def _pieces_from_pickle(path: Path) -> tuple[list, dict, dict]:
    data = load_benchmark_pickle(path)
    source = {"kind": "benchmark", "path": str(path.resolve()), "name": path.stem,
              "sha256": file_sha256(path)}
    pieces, dropped = [], {}
    for split in SPLITS:
        for index, sequence in enumerate(data[split]):
            cells, frames, outside = sequence_to_cells(sequence)
            if outside:
                dropped["pitches_out_of_range"] = dropped.get("pitches_out_of_range", 0) + outside
            key = estimate_key(cells % KEYS + LOWEST_PITCH, np.ones(len(cells)))
            piece = Piece(f"{split}/{index:04d}", cells, frames, cells_split_key(cells), key=key.name, split=split)
            pieces.append(piece)
    return pieces, dropped, source


def _write_local(pieces: list[Piece], out_dir: Path, config: RecordsConfig, dropped: dict) -> tuple[list, list]:
    """Encodes every example and writes the shards here; returns piece summaries and shard entries."""
    groups: dict[tuple[str, int], list[bytes]] = {}
    members: dict[str, list[tuple[Piece, int, bytes]]] = {split: [] for split in SPLITS}
    summaries = []
    for piece in pieces:
        examples = 0
        for shift, cells in transpositions(piece, config.transpose):
            if cells is None:
                dropped["transpositions_out_of_range"] = dropped.get("transpositions_out_of_range", 0) + 1
                continue
            members[piece.split].append((piece, shift, encode_example(piece.name, cells, piece.num_frames, shift)))
            examples += 1
        summaries.append(piece_summary(piece, examples))
    shards = []
    for split in SPLITS:
        count = shard_count(config.shards, len(members[split]))
        for piece, shift, example in members[split]:
            groups.setdefault((split, shard_of(piece.name, shift, count)), []).append(example)
        for index in range(count):
            entry = write_shard(storage.join(out_dir, shard_name(split, index, count)), groups.get((split, index), []))
            shards.append({**entry, "split": split, "index": index})
    return summaries, shards


def dataset_info(config: RecordsConfig, fingerprint: str, source: dict, summaries: list[dict], shards: list[dict],
                 dropped: dict, seconds: float) -> dict:
    """dataset.json from the pieces' summaries and the shards written (local and Beam builds alike)."""
    summaries = sorted(summaries, key=lambda s: s["piece"])
    splits, histograms, counts = {}, {split: np.zeros(KEYS, dtype=np.int64) for split in SPLITS}, {}
    for split in SPLITS:
        originals = [s for s in summaries if s["split"] == split]
        entries = sorted((s for s in shards if s["split"] == split), key=lambda s: s["index"])
        splits[split] = {"pieces": len(originals), "examples": int(sum(s["examples"] for s in originals)),
                         "frames": int(sum(s["frames"] for s in originals)),
                         "example_frames": int(sum(s["frames"] * s["examples"] for s in originals)),
                         "shards": [{k: v for k, v in e.items() if k not in ("split", "index")} for e in entries]}
    for summary in summaries:  # the pieces as they are, without the transposed copies
        histograms[summary["split"]] += np.asarray(summary["histogram"], dtype=np.int64)
        for name, value in summary["counts"].items():
            counts[name] = counts.get(name, 0) + value
    return {
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
        "pieces": [{k: s[k] for k in ("piece", "sha256", "split", "frames", "key", "key_shift", "near_duplicate_of")}
                   for s in summaries],
        "seconds": round(seconds, 2),
    }


def _check_splits(summaries: list[dict], fractions, dropped: dict) -> None:
    if not summaries:
        raise BuildError("no piece survived rolling: " + (", ".join(f"{k}: {v}" for k, v in dropped.items())
                                                          or "the corpus is empty"))
    for split, fraction in zip(SPLITS, fractions):
        if fraction > 0 and not any(s["split"] == split for s in summaries):
            raise BuildError(f"the split {list(fractions)} leaves {split!r} empty with {len(summaries)} pieces; "
                             "use more pieces or a split without it (e.g. --split 1,0,0)")


def _up_to_date(out_dir, fingerprint: str) -> dict | None:
    info_path = storage.join(out_dir, DATASET_INFO)
    if not storage.exists(info_path):
        return None
    previous = json.loads(storage.read_bytes(info_path))
    if previous.get("fingerprint") == fingerprint and all(storage.exists(storage.join(out_dir, s["file"]))
                                                           for split in previous["splits"].values()
                                                           for s in split["shards"]):
        return {**previous, "up_to_date": True}
    return None


def build_records(out_dir: Path, config: RecordsConfig, *, clean_dir: Path | None = None,
                  pickle_path: Path | None = None, jobs: int | None = None, progress=None,
                  runner: str | None = None, beam_options: tuple[str, ...] = ()) -> dict:
    """Builds (or finds up to date) the records in ``out_dir``; returns the dataset info.

    With ``runner`` (an Apache Beam runner name), the files of a curated folder are rolled and the
    shards written by a Beam pipeline (rolls.beam_records); the records equal a local build's.
    """
    started = time.monotonic()
    if (clean_dir is None) == (pickle_path is None):
        raise BuildError("give a curated folder or a benchmark pickle, not both")
    if clean_dir is not None and not storage.is_url(clean_dir) and not Path(clean_dir).is_dir():
        raise BuildError(f"{clean_dir} is not a folder")
    if pickle_path is not None and not Path(pickle_path).is_file():
        raise BuildError(f"{pickle_path} is not a file")
    if pickle_path is not None and runner:
        raise BuildError("--runner builds from a curated folder; a benchmark pickle is built locally (drop --runner)")
    if pickle_path is not None:
        guessed = guess_steps_per_quarter(pickle_path)
        if guessed and config.steps_per_quarter == DEFAULT_STEPS_PER_QUARTER and config.dt is None:
            config = replace(config, steps_per_quarter=guessed)
        pieces, dropped, source = _pieces_from_pickle(Path(pickle_path))
        files = []
    else:
        source, files, groups = _clean_source(clean_dir)

    fingerprint = _fingerprint(config, source)
    source = {**source, "path": storage.relative(source["path"], out_dir)}
    previous = _up_to_date(out_dir, fingerprint)
    if previous:
        return previous
    if not storage.is_url(out_dir):
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    fractions = config.split if clean_dir is not None else (0, 0, 0)  # a pickle keeps its published splits
    if runner:
        from pianorbm.rolls.beam_records import roll_and_write_with_beam

        summaries, shards, dropped = roll_and_write_with_beam(clean_dir, out_dir, files, groups, config, runner=runner,
                                                              beam_options=beam_options, jobs=jobs)
        _check_splits(summaries, fractions, dropped)
    else:
        if clean_dir is not None:
            pieces, dropped = _pieces_from_clean(clean_dir, files, groups, config, jobs, progress)
        _check_splits([{"split": p.split} for p in pieces], fractions, dropped)  # before any shard is written
        summaries, shards = _write_local(pieces, out_dir, config, dropped)
    if not storage.is_url(out_dir):
        written = {s["file"] for s in shards}
        for stale in out_dir.glob("*.tfrecord"):
            if stale.name not in written:
                stale.unlink()
    info = dataset_info(config, fingerprint, source, summaries, shards, dropped, time.monotonic() - started)
    storage.write_bytes(storage.join(out_dir, DATASET_INFO), json_text(info).encode())
    return info
