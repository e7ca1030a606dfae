"""The curation manifest (one row per input file) and the journal that makes curation resumable.

The journal (``.curate-journal.jsonl`` in the output folder) gets one JSON line per finished file
as the run goes; a line cut short by a kill is ignored when it is read back. The manifest is
written once, atomically, from the journal at the end of a run, so it is always either the
previous complete manifest or the new complete one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pianorbm.common import storage
from pianorbm.common.journal import read_journal as read_rows

JOURNAL_NAME = ".curate-journal.jsonl"
SUMMARY_NAME = "curation.json"
MANIFEST_NAMES = {"csv": "manifest.csv", "parquet": "manifest.parquet"}

COLUMNS = [
    "path", "status", "reason", "duplicate_of", "near_duplicate_of", "near_duplicate_group", "detail", "sha256",
    "content_hash", "bytes", "parser",
    "evidence", "non_piano_parts", "ticks_per_beat", "tracks", "track_names", "channels", "programs",
    "programs_explicit", "notes", "piano_notes", "kept_notes", "drum_notes", "duration_s",
    "duration_beats", "tempo_changes", "time_signature_changes", "pitch_min", "pitch_max",
    "polyphony_mean", "polyphony_max", "unterminated_notes", "zero_length_notes", "warnings",
    "mtime_ns", "config",
]
_INTEGER_COLUMNS = ["near_duplicate_group", "bytes", "ticks_per_beat", "tracks", "notes", "piano_notes", "kept_notes", "drum_notes",
                    "tempo_changes", "time_signature_changes", "pitch_min", "pitch_max", "polyphony_max",
                    "unterminated_notes", "zero_length_notes", "mtime_ns"]


def read_journal(path: Path) -> dict[str, dict]:
    """The last complete row per input path; a torn final line is skipped."""
    return read_rows(path, "path")


def rows_to_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values("path", kind="stable").reset_index(drop=True)
    for column in _INTEGER_COLUMNS:
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame


def write_manifest(frame: pd.DataFrame, folder, fmt: str):
    """Writes the manifest atomically as CSV or Parquet into a folder or URL prefix; removes one in
    the other format. Returns its path (a Path for a folder, a str for a URL)."""
    path = storage.join(folder, MANIFEST_NAMES[fmt])
    if fmt == "csv":
        storage.write_bytes(path, frame.to_csv(index=False).encode("utf-8"))
    else:
        import io

        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        storage.write_bytes(path, buffer.getvalue())
    storage.delete([storage.join(folder, other) for other in MANIFEST_NAMES.values() if other != MANIFEST_NAMES[fmt]])
    return path if storage.is_url(folder) else Path(path)


def read_manifest(folder) -> pd.DataFrame:
    """Reads the manifest of a curated folder (or URL prefix), whichever format it was written in."""
    import io

    for fmt in ("parquet", "csv"):
        path = storage.join(folder, MANIFEST_NAMES[fmt])
        if storage.exists(path):
            data = io.BytesIO(storage.read_bytes(path))
            return pd.read_parquet(data) if fmt == "parquet" else \
                pd.read_csv(data, dtype={"path": str, "duplicate_of": str, "near_duplicate_of": str})
    raise FileNotFoundError(f"{folder} has no manifest.csv or manifest.parquet: run `pianorbm curate` first")


def summary_table(frame: pd.DataFrame) -> str:
    """Counts per status and reason, as an aligned text table."""
    counts = frame.groupby(["status", "reason"], dropna=False).size().rename("files").reset_index()
    totals = frame.groupby("status").size()
    lines = [f"{'status':<11} {'reason':<32} {'files':>7}", "-" * 52]
    for status in ("kept", "duplicate", "rejected", "unreadable"):
        for _, row in counts[counts.status == status].iterrows():
            lines.append(f"{status:<11} {row.reason:<32} {row.files:>7}")
        if status in totals:
            lines.append(f"{'':<11} {'(all ' + status + ')':<32} {totals[status]:>7}")
    lines.append("-" * 52)
    lines.append(f"{'total':<44} {len(frame):>7}")
    return "\n".join(lines)
