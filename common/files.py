"""Atomic file writes: a temporary file in the target's folder, then a rename.

Every stage writes its outputs through these, so a killed or interrupted run leaves each file
either as it was or complete, never half-written, and every output is an ordinary 0644 file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".partial"
FILE_MODE = 0o644


@contextmanager
def atomic_path(path: Path, keep_suffix: bool = False):
    """Yields a temporary path beside ``path``; on success it becomes ``path`` (mode 0644), on
    any error or interruption it is removed. For writers that want a file name (TFRecordWriter;
    ``keep_suffix`` for those that insist on the target's suffix, like Keras's ``.keras``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = TEMP_SUFFIX + (path.suffix if keep_suffix else "")
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(temp)
        os.chmod(temp, FILE_MODE)  # mkstemp makes 0600 files; outputs are ordinary files
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` so that ``path`` holds either its old content or all of the new."""
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def finite_or_none(value):
    """``value`` with every non-finite float (inf, nan) replaced by None, recursively: JSON has none."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def json_text(value) -> str:
    """``value`` as strict JSON (non-finite numbers become null), indented, with a final newline."""
    return json.dumps(finite_or_none(value), indent=1, allow_nan=False) + "\n"


def write_json_atomic(path: Path, value) -> None:
    """Writes ``value`` as strict JSON (see json_text) atomically."""
    write_text_atomic(path, json_text(value))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in pieces (memory stays bounded whatever its size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
