"""Atomic file writes: a temporary file in the target's folder, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".partial"
FILE_MODE = 0o644


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` so that ``path`` holds either its old content or all of the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, FILE_MODE)  # mkstemp makes 0600 files; outputs are ordinary files
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
