"""A JSON-lines journal: one line per finished piece of work, appended and flushed at once, so that a
killed run loses at most the line it was writing; a line cut short is skipped when read back."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def read_journal(path: Path, key: str) -> dict[str, dict]:
    """The last complete row per value of ``key``; {} when there is no journal."""
    rows: dict[str, dict] = {}
    if not Path(path).exists():
        return rows
    with Path(path).open("r", encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and key in row:
                rows[row[key]] = row
    return rows


@contextmanager
def appending(path: Path) -> Iterator[Callable[[dict], None]]:
    """A function that appends one row to the journal at ``path`` and flushes it."""
    with Path(path).open("a", encoding="utf-8") as handle:
        def append(row: dict) -> None:
            handle.write(json.dumps(row) + "\n")
            handle.flush()

        yield append
