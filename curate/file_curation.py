"""Curate one file: read, check, decide, write its clean copy. Runs inside a worker process.

:func:`examine_file` depends only on its arguments (no module state) and writes nothing, so the
same function runs in a local process pool (:func:`curate_file`, which also writes the clean copy)
and in Apache Beam workers (:mod:`curate.beam_curation`).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np

from pianorbm.common import storage
from pianorbm.curate.config import CurateConfig
from pianorbm.curate.errors import CurationError, MidiReadError
from pianorbm.curate.facts import content_hash, polyphony, song_facts
from pianorbm.curate.filters import first_failure
from pianorbm.curate.instruments import UNSTATED, classify_parts
from pianorbm.curate.midi_read import read_smf, read_smf_with_mido
from pianorbm.curate.midi_write import encode_clean_midi
from pianorbm.curate.near_duplicates import encode_signature, file_signatures
from pianorbm.curate.scores import clean_relpath, is_score, score_to_midi
from pianorbm.curate.song import DRUM_CHANNEL, song_from_smf

KEPT, REJECTED, DUPLICATE, UNREADABLE = "kept", "rejected", "duplicate", "unreadable"


def parse_song(data: bytes, parser: str = "auto"):
    """Parses MIDI bytes with the fast reader, falling back to mido for files it refuses.

    ``parser`` is ``auto``, ``pianorbm`` or ``mido``.
    """
    if parser == "mido":
        return song_from_smf(read_smf_with_mido(data)), "mido"
    try:
        return song_from_smf(read_smf(data)), "pianorbm"
    except MidiReadError as fast_error:
        if parser != "auto" or fast_error.reason in ("empty_file", "not_midi", "smpte_division",
                                                       "midi_type_2", "zero_division"):
            raise
        try:
            return song_from_smf(read_smf_with_mido(data)), "mido"
        except MidiReadError:
            raise fast_error from None


def curate_file(src_root: str, dst_root: str, relpath: str, config: CurateConfig,
                parser: str = "auto") -> dict:
    """Returns the manifest row of one input file, writing its clean copy when it is kept."""
    row, clean = examine_file(src_root, relpath, config, parser)
    if clean is not None:
        storage.write_bytes(storage.join(dst_root, clean_relpath(relpath)), clean)
    return row


def _score_midi(path: str, relpath: str):
    if not storage.is_url(path):
        return score_to_midi(Path(path))
    with tempfile.TemporaryDirectory() as folder:  # music21 reads scores from a file
        local = Path(folder) / Path(relpath).name
        local.write_bytes(storage.read_bytes(path))
        return score_to_midi(local)


def examine_file(src_root: str, relpath: str, config: CurateConfig, parser: str = "auto") -> tuple[dict, bytes | None]:
    """(manifest row, clean MIDI bytes or None) of one input file; writes nothing. ``src_root`` is a
    folder or a URL prefix of Beam's filesystems."""
    src = storage.join(src_root, relpath)
    size, mtime_ns = storage.stat(src)
    row: dict = {"path": relpath, "bytes": size, "mtime_ns": mtime_ns}
    if size > config.max_file_bytes:
        return {**row, "status": REJECTED, "reason": "file_too_large",
                "detail": f"{size} bytes > {config.max_file_bytes}"}, None
    data = storage.read_bytes(src)
    row["sha256"] = hashlib.sha256(data).hexdigest()
    conversion_warnings: list[str] = []
    try:
        if is_score(relpath):
            data, conversion_warnings = _score_midi(src, relpath)
            song, midi_parser = parse_song(data, parser)
            row["parser"] = f"music21+{midi_parser}"
        else:
            song, row["parser"] = parse_song(data, parser)
    except CurationError as err:
        return {**row, "status": UNREADABLE, "reason": err.reason, "detail": str(err)}, None
    row.update(song_facts(song))
    row["warnings"] = ";".join([*conversion_warnings, *song.warnings])
    decisions, piano = classify_parts(song)
    pitched = song.notes.channel != DRUM_CHANNEL
    row["piano_notes"] = int(piano.sum())
    if config.piano_only:
        keep = piano
        evidence = {d.evidence for d in decisions if d.is_piano}
        row["evidence"] = ";".join(sorted(evidence))
        row["non_piano_parts"] = ";".join(f"{d.name or 'track ' + str(d.track)}:{d.evidence}"
                                         for d in decisions if not d.is_piano)
    else:
        keep = pitched
        row["evidence"] = ""
        row["non_piano_parts"] = ""
    if not len(song.notes):
        return {**row, "status": REJECTED, "reason": "no_notes"}, None
    reason = "ok"
    if config.piano_only and not piano.all():
        if not piano.any():
            return {**row, "status": REJECTED, "reason": "no_piano"}, None
        if not config.extract_piano:
            reason = "has_drums" if (~pitched).any() else "mixed_instruments"
            return {**row, "status": REJECTED, "reason": reason}, None
        reason = "piano_extracted"
    kept = song.notes.select(keep)
    row["kept_notes"] = len(kept)
    if config.piano_only and evidence <= UNSTATED:
        at_once, _ = polyphony(kept.onset, kept.offset)
        if at_once < config.min_unstated_polyphony:
            return {**row, "status": REJECTED, "reason": "melody_only",
                    "detail": f"{at_once:.2f} notes at once on average (< {config.min_unstated_polyphony:g}) "
                              "and no instrument stated"}, None
    failure = first_failure(kept, song, config)
    if failure:
        return {**row, "status": REJECTED, "reason": failure}, None
    try:
        clean = encode_clean_midi(song, keep)
    except CurationError as err:
        return {**row, "status": REJECTED, "reason": err.reason, "detail": str(err)}, None
    row["content_hash"] = content_hash(kept, song.ticks_per_beat)
    if config.near_duplicates != "keep":
        sketches = file_signatures(kept.pitch, kept.onset / song.ticks_per_beat,
                                   kept.track.astype(np.int64) * 16 + kept.channel, config.near_duplicate_transposed)
        row["near_duplicate_signature"] = encode_signature(sketches["pitch_classes"])
        if "intervals" in sketches:
            row["near_duplicate_interval_signature"] = encode_signature(sketches["intervals"])
    return {**row, "status": KEPT, "reason": reason}, clean
