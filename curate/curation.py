"""Curate a folder: walk it, fan files out to isolated workers, dedup, group near-duplicates, write
the manifest.

The run is resumable: each finished file is journalled at once, and a rerun on the same SRC and DST
skips every file whose size, modification time and settings match its journal row (and whose
clean copy is still there), so an interrupted run, rerun, ends exactly as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from pianorbm.common import storage
from pianorbm.common.files import TEMP_SUFFIX, file_sha256, write_text_atomic
from pianorbm.curate.config import MIDI_SUFFIXES, CurateConfig
from pianorbm.curate.errors import CurationError
from pianorbm.curate.file_curation import DUPLICATE, KEPT, UNREADABLE, curate_file
from pianorbm.common.isolation import Failure, IsolatedPool
from pianorbm.common.journal import appending
from pianorbm.curate.manifest import (JOURNAL_NAME, MANIFEST_NAMES, SUMMARY_NAME, read_journal, rows_to_frame,
                             write_manifest)
from pianorbm.curate.near_duplicates import decode_signature, group_files
from pianorbm.curate.scores import clean_relpath

FAILURE_REASONS = {"timeout": "timeout", "crash": "parser_crash", "memory": "memory_limit", "error": "internal_error"}


class CurationSetupError(CurationError):
    """A mistake in how curation was called (paths, empty input): reported to the user as is."""

    reason = "usage"


@dataclass
class CurationResult:
    manifest: pd.DataFrame
    manifest_path: Path
    processed: int  # files read in this run
    reused: int  # files whose journalled result was still valid
    seconds: float


def find_inputs(src, suffixes: tuple[str, ...] = MIDI_SUFFIXES) -> list[str]:
    """Relative POSIX paths of the files under ``src`` (a folder or a URL prefix) with these
    suffixes, sorted; symlinked folders not followed."""
    return storage.list_files(src, suffixes)


def check_paths(src: Path, dst: Path) -> None:
    if not src.is_dir():
        raise CurationSetupError(f"source folder {src} does not exist or is not a folder")
    src_r, dst_r = src.resolve(), dst.resolve()
    if dst_r == src_r or src_r in dst_r.parents:
        raise CurationSetupError(f"the output folder {dst} is inside the source folder {src}; "
                                 "curate never writes under its input: choose a folder outside it")
    if dst_r in src_r.parents:
        raise CurationSetupError(f"the source folder {src} is inside the output folder {dst}; choose another output")
    if dst.exists() and any(dst.iterdir()):
        ours = [dst / JOURNAL_NAME, dst / SUMMARY_NAME, *(dst / name for name in MANIFEST_NAMES.values())]
        if not any(path.exists() for path in ours):
            raise CurationSetupError(f"the output folder {dst} is not empty and holds no curation of pianorbm; "
                                     "choose a new or empty folder")


def failure_row(src, relpath: str, failure: Failure) -> dict:
    """The manifest row of a file whose worker timed out, crashed or ran out of memory."""
    path = storage.join(src, relpath)
    size, mtime_ns = storage.stat(path)
    return {"path": relpath, "bytes": size, "mtime_ns": mtime_ns,
            "sha256": hashlib.sha256(storage.read_bytes(path)).hexdigest(),
            "status": UNREADABLE, "reason": FAILURE_REASONS[failure.kind], "detail": failure.detail}


def _reusable(row: dict | None, src: Path, dst: Path, fingerprint: str) -> bool:
    if not row or row.get("config") != fingerprint:
        return False
    stat = (src / row["path"]).stat()
    if row.get("bytes") != stat.st_size:
        return False
    if row.get("mtime_ns") != stat.st_mtime_ns and row.get("sha256") != file_sha256(src / row["path"]):
        return False  # touched, and changed: a copied folder's files have new times and the same bytes
    return row["status"] != KEPT or (dst / clean_relpath(row["path"])).exists()


def _dedup(rows: dict[str, dict]) -> tuple[list[str], dict[str, str]]:
    """Groups kept files by content hash: the first path of each group stays, the rest point to it.

    Returns the primaries whose clean copy was removed as duplicates earlier (they must be redone)
    and the map duplicate -> primary.
    """
    groups: dict[str, list[str]] = {}
    for path in sorted(rows):
        if rows[path]["status"] in (KEPT, DUPLICATE):
            groups.setdefault(rows[path]["content_hash"], []).append(path)
    revive, duplicate_of = [], {}
    for paths in groups.values():
        if rows[paths[0]]["status"] == DUPLICATE:
            revive.append(paths[0])
        for other in paths[1:]:
            duplicate_of[other] = paths[0]
    return revive, duplicate_of


def mark_near_duplicates(rows: dict[str, dict], config: CurateConfig) -> list[str]:
    """Groups the kept files that are near-duplicates (curate.near_duplicates) and writes the group
    into their rows: ``near_duplicate_of`` is the group's first path, ``near_duplicate_group`` its
    number (1, 2, ... in the order of first paths). With ``drop`` every member but the first becomes
    a duplicate of it; returns those paths, whose clean copies must go."""
    for row in rows.values():
        row.pop("near_duplicate_of", None)
        row.pop("near_duplicate_group", None)
    if config.near_duplicates == "keep":
        return []
    kept = sorted(path for path, row in rows.items() if row["status"] == KEPT)
    intervals = ([decode_signature(rows[path].get("near_duplicate_interval_signature")) for path in kept]
                 if config.near_duplicate_transposed else None)
    firsts = group_files([decode_signature(rows[path].get("near_duplicate_signature")) for path in kept],
                         config.near_duplicate_threshold, intervals)
    members: dict[int, list[str]] = {}
    for path, first in zip(kept, firsts):
        members.setdefault(int(first), []).append(path)
    groups = sorted(paths for paths in members.values() if len(paths) > 1)
    dropped = []
    for number, paths in enumerate(groups, start=1):
        for path in paths:
            rows[path].update(near_duplicate_of=paths[0], near_duplicate_group=number)
            if config.near_duplicates == "drop" and path != paths[0]:
                rows[path].update(status=DUPLICATE, reason="near_duplicate", duplicate_of=paths[0])
                dropped.append(path)
    return dropped


def remove_stale(dst: Path, keep: set[str]) -> None:
    for folder, _, files in os.walk(dst):
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(dst).as_posix()
            stale_midi = name.lower().endswith(MIDI_SUFFIXES) and rel not in keep
            if stale_midi or name.endswith(TEMP_SUFFIX):
                path.unlink(missing_ok=True)


def curate_folder(src: Path, dst: Path, config: CurateConfig, *, jobs: int | None = None,
                  manifest_format: str = "csv", progress: Callable[[int], object] | None = None) -> CurationResult:
    """Curates every MIDI file under ``src`` into ``dst`` (see the module and package docs).

    ``progress(total)`` may return a tqdm-like object that is updated once per file read.
    """
    started = time.monotonic()
    src, dst = Path(src), Path(dst)
    check_paths(src, dst)
    inputs = find_inputs(src, config.input_suffixes())
    if not inputs:
        kinds = "MIDI files or scores" if config.scores else "MIDI files"
        raise CurationSetupError(f"no {kinds} ({', '.join(config.input_suffixes())}) found under {src}")
    dst.mkdir(parents=True, exist_ok=True)
    journal_path = dst / JOURNAL_NAME
    fingerprint = config.fingerprint()
    journal = read_journal(journal_path)
    rows = {path: journal[path] for path in inputs if _reusable(journal.get(path), src, dst, fingerprint)}
    todo = [path for path in inputs if path not in rows]
    reused = len(rows)
    pool = IsolatedPool(curate_file, jobs or os.cpu_count() or 1, config.timeout, config.memory_mb)
    bar = progress(len(todo)) if progress else None

    with appending(journal_path) as journal:
        def run(paths: list[str]) -> None:
            tasks = [(str(src), str(dst), path, config) for path in paths]
            for _, args, outcome in pool.map(tasks):
                row = failure_row(src, args[2], outcome) if isinstance(outcome, Failure) else outcome
                row["config"] = fingerprint
                rows[row["path"]] = row
                journal(row)
                if bar is not None:
                    bar.update(1)

        run(todo)
        revive, duplicate_of = _dedup(rows)
        if revive:
            run(revive)
            revive, duplicate_of = _dedup(rows)
    if bar is not None:
        bar.close()

    for path, primary in duplicate_of.items():
        rows[path].update(status=DUPLICATE, reason="duplicate", duplicate_of=primary)
        (dst / clean_relpath(path)).unlink(missing_ok=True)
    mark_near_duplicates(rows, config)
    kept = {clean_relpath(path) for path, row in rows.items() if row["status"] == KEPT}
    remove_stale(dst, kept)
    frame, manifest_path = write_outputs(src, dst, [rows[path] for path in inputs], config, manifest_format)
    return CurationResult(frame, manifest_path, len(todo), reused, time.monotonic() - started)


def write_outputs(src, dst, rows: list[dict], config: CurateConfig, manifest_format: str) -> tuple[pd.DataFrame, str]:
    """Writes the journal (local folders), the manifest and ``curation.json`` from the final rows
    (one per input, in input order); returns the manifest and its path."""
    fingerprint = config.fingerprint()
    if not storage.is_url(dst):
        write_text_atomic(Path(dst) / JOURNAL_NAME, "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    frame = rows_to_frame(rows)
    manifest_path = write_manifest(frame, dst, manifest_format)
    counts = frame.groupby(["status", "reason"]).size()
    summary = {
        "stage": "curate",
        "source": storage.relative(src, dst),
        "config": config.to_dict(),
        "config_fingerprint": fingerprint,
        "manifest": Path(manifest_path).name,
        "files": len(frame),
        "counts": {status: int(n) for status, n in frame.status.value_counts().sort_index().items()},
        "reasons": {f"{status}/{reason}": int(n) for (status, reason), n in counts.items()},
        "near_duplicate_groups": int(frame.near_duplicate_group.nunique()),
        "files_in_near_duplicate_groups": int(frame.near_duplicate_group.notna().sum()),
    }
    storage.write_bytes(storage.join(dst, SUMMARY_NAME), (json.dumps(summary, indent=2) + "\n").encode())
    return frame, manifest_path
