"""Curate one file: read, check, decide, write its clean copy. Runs inside a worker process.

:func:`curate_file` depends only on its arguments (no module state), so the same function can run
in a local process pool or on a distributed engine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from common.files import write_bytes_atomic
from curate.config import CurateConfig
from curate.errors import CurationError, MidiReadError
from curate.facts import content_hash, song_facts
from curate.filters import first_failure
from curate.instruments import classify_parts
from curate.midi_read import read_smf, read_smf_with_mido
from curate.midi_write import encode_clean_midi
from curate.scores import clean_relpath, is_score, score_to_midi
from curate.song import DRUM_CHANNEL, song_from_smf

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
    src = Path(src_root) / relpath
    stat = src.stat()
    row: dict = {"path": relpath, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if stat.st_size > config.max_file_bytes:
        return {**row, "status": REJECTED, "reason": "file_too_large",
                "detail": f"{stat.st_size} bytes > {config.max_file_bytes}"}
    data = src.read_bytes()
    row["sha256"] = hashlib.sha256(data).hexdigest()
    conversion_warnings: list[str] = []
    try:
        if is_score(relpath):
            data, conversion_warnings = score_to_midi(src)
            song, midi_parser = parse_song(data, parser)
            row["parser"] = f"music21+{midi_parser}"
        else:
            song, row["parser"] = parse_song(data, parser)
    except CurationError as err:
        return {**row, "status": UNREADABLE, "reason": err.reason, "detail": str(err)}
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
        return {**row, "status": REJECTED, "reason": "no_notes"}
    reason = "ok"
    if config.piano_only and not piano.all():
        if not piano.any():
            return {**row, "status": REJECTED, "reason": "no_piano"}
        if not config.extract_piano:
            return {**row, "status": REJECTED, "reason": "has_drums" if (~pitched).any() else "mixed_instruments"}
        reason = "piano_extracted"
    kept = song.notes.select(keep)
    row["kept_notes"] = len(kept)
    failure = first_failure(kept, song, config)
    if failure:
        return {**row, "status": REJECTED, "reason": failure}
    try:
        clean = encode_clean_midi(song, keep)
    except CurationError as err:
        return {**row, "status": REJECTED, "reason": err.reason, "detail": str(err)}
    write_bytes_atomic(Path(dst_root) / clean_relpath(relpath), clean)
    row["content_hash"] = content_hash(kept, song.ticks_per_beat)
    return {**row, "status": KEPT, "reason": reason}
