"""Paths that are local files or URLs of Apache Beam's filesystems (``gs://``, ``s3://``, ...).

Local paths go through :mod:`common.files` (atomic writes); a URL goes through
``apache_beam.io.filesystems.FileSystems``, which is imported only then, so a local run never
needs Beam. Object stores publish an object when it is closed, so a URL write is atomic too.
"""

from __future__ import annotations

import os
from pathlib import Path

from pianorbm.common.files import write_bytes_atomic


def is_url(path) -> bool:
    return "://" in str(path)


def relative(path, folder) -> str:
    """``path`` as written into a file of ``folder``: relative to it, so that the two move together
    (a URL, or a path beside a URL, stays as it is)."""
    if is_url(path) or is_url(folder):
        return str(path)
    return os.path.relpath(Path(path).resolve(), Path(folder).resolve())


def _filesystems():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def join(root, relpath: str) -> str:
    """``root/relpath`` for a folder or a URL prefix."""
    return f"{str(root).rstrip('/')}/{relpath}" if is_url(root) else str(Path(root) / relpath)


def stat(path) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of one file."""
    if not is_url(path):
        info = os.stat(path)
        return info.st_size, info.st_mtime_ns
    metadata = _filesystems().match([str(path)])[0].metadata_list[0]
    return metadata.size_in_bytes, int(round(metadata.last_updated_in_seconds * 1e9))


def exists(path) -> bool:
    return Path(path).exists() if not is_url(path) else _filesystems().exists(str(path))


def read_bytes(path) -> bytes:
    if not is_url(path):
        return Path(path).read_bytes()
    with _filesystems().open(str(path)) as handle:
        return handle.read()


def write_bytes(path, data: bytes) -> None:
    """Writes ``data`` so that ``path`` holds either its old content or all of the new."""
    if not is_url(path):
        write_bytes_atomic(Path(path), data)
        return
    with _filesystems().create(str(path)) as handle:
        handle.write(data)


def delete(paths: list) -> None:
    """Removes files that exist; missing ones are not an error."""
    local = [p for p in paths if not is_url(p)]
    for path in local:
        Path(path).unlink(missing_ok=True)
    remote = [str(p) for p in paths if is_url(p)]
    if remote:
        filesystems = _filesystems()
        remote = [p for p in remote if filesystems.exists(p)]
        if remote:
            filesystems.delete(remote)


def list_files(root, suffixes: tuple[str, ...]) -> list[str]:
    """Relative POSIX paths of the files under ``root`` whose names end with one of ``suffixes``
    (any case), sorted; symlinked folders are not followed."""
    found = []
    if not is_url(root):
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            found += [(Path(folder) / name).relative_to(root).as_posix() for name in files
                      if name.lower().endswith(suffixes)]
        return sorted(found)
    prefix = str(root).rstrip("/") + "/"
    for result in _filesystems().match([prefix + "**"]):
        found += [item.path[len(prefix):] for item in result.metadata_list if item.path.lower().endswith(suffixes)]
    return sorted(found)
