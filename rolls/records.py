"""Piano rolls in sharded TFRecord files: one feature schema for the writer and the reader.

Each record is one piece (or one transposition of it) as a ``tf.train.Example``:

- ``piece`` (bytes): the piece's path in the clean folder, or ``split/index`` for a benchmark;
- ``transpose`` (int64): semitones applied for augmentation (0 for the original);
- ``num_frames`` (int64): T;
- ``cell_deltas`` (int64 list): the sorted flat indices ``step * 88 + key`` of the active cells,
  delta-encoded (first index, then differences), so protobuf's varints store most in one byte.
  Rolls are about 95 % zeros; this costs about 1.1 bytes per active cell.

Files are named ``{split}-{index:05d}-of-{count:05d}.tfrecord`` and written atomically; their sizes
and sha256 are listed in ``dataset.json``, which the reader checks so that a corrupt or truncated
file is named in an error instead of silently shortening the data.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from pianorbm.common import storage
from pianorbm.common.files import atomic_path
from pianorbm.rolls.pianoroll import KEYS

DATASET_INFO = "dataset.json"
FORMAT_VERSION = 3  # 3: splits from the notes, not the grid; 2: per-split pitch histograms (1: all splits)
SPLITS = ("train", "valid", "test")


class RecordsError(Exception):
    """A records folder that cannot be used (missing, corrupt, inconsistent): the message says why."""


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def encode_example(piece: str, cells: np.ndarray, num_frames: int, transpose: int = 0) -> bytes:
    from pianorbm.common.quiet import tf

    deltas = np.diff(np.asarray(cells, dtype=np.int64), prepend=0)
    feature = {
        "piece": tf.train.Feature(bytes_list=tf.train.BytesList(value=[piece.encode()])),
        "transpose": tf.train.Feature(int64_list=tf.train.Int64List(value=[transpose])),
        "num_frames": tf.train.Feature(int64_list=tf.train.Int64List(value=[num_frames])),
        "cell_deltas": tf.train.Feature(int64_list=tf.train.Int64List(value=deltas.tolist())),
    }
    # deterministic: map entries in key order, so the bytes do not depend on the process that wrote them
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def write_shard(path, examples: list[bytes]) -> dict:
    """Writes one shard atomically (mode 0644, like every output) to a path or a URL of Beam's
    filesystems; returns its entry for dataset.json."""
    from pianorbm.common.quiet import tf

    def write(target: Path) -> bytes:
        with tf.io.TFRecordWriter(str(target)) as writer:
            for example in examples:
                writer.write(example)
        return target.read_bytes()

    if storage.is_url(path):  # TFRecordWriter writes a local file; the store gets its bytes
        with tempfile.TemporaryDirectory() as folder:
            data = write(Path(folder) / "shard.tfrecord")
        storage.write_bytes(path, data)
    else:
        with atomic_path(Path(path)) as temp:
            data = write(temp)
    return {"file": str(path).rstrip("/").rsplit("/", 1)[-1], "examples": len(examples), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def load_info(records_dir: Path) -> dict:
    """The ``dataset.json`` of a records folder, with a clear error when it is not one."""
    path = Path(records_dir) / DATASET_INFO
    if not path.exists():
        raise RecordsError(f"{records_dir} is not a records folder (no {DATASET_INFO}); "
                           "make one with `pianorbm build-records`")
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RecordsError(f"{path} is not valid JSON ({err}); rebuild the records") from err
    if info.get("format", 1) < FORMAT_VERSION:
        raise RecordsError(f"{records_dir} was built by an older pianorbm (records format {info.get('format', 1)}, "
                           f"now {FORMAT_VERSION}); run the same build-records command again to rebuild it")
    return info


def key_frequencies(info: dict, split: str = "train") -> np.ndarray:
    """Each key's share of the frames of one split (88,), from that split alone: statistics used
    for training or baselines come from the train split, never from the data they are tested on."""
    frames = info["splits"][split]["frames"]
    return np.asarray(info["pitch_histograms"][split], dtype=np.float64) / max(frames, 1)


def first_pieces(info: dict, split: str, count: int) -> list[str]:
    """The first ``count`` pieces of a split by name: a choice that no shard layout or batch size moves."""
    return sorted(p["piece"] for p in info["pieces"] if p["split"] == split)[:count]


def piece_groups(info: dict, pieces: list[str]) -> list[str]:
    """Each piece's near-duplicate group: the path of its group's first file as curation recorded it,
    or the piece itself when it is in no group (or the records carry no groups)."""
    group = {p["piece"]: p.get("near_duplicate_of") or p["piece"] for p in info.get("pieces", [])}
    return [group.get(piece, piece) for piece in pieces]


def shard_paths(records_dir: Path, info: dict, split: str, verify: bool = True) -> list[str]:
    """Paths of a split's shards; with ``verify``, each file's size and sha256 are checked."""
    if split not in info["splits"]:
        raise RecordsError(f"no split {split!r} in {records_dir}; it has {sorted(info['splits'])}")
    paths = []
    for shard in info["splits"][split]["shards"]:
        path = Path(records_dir) / shard["file"]
        if not path.exists():
            raise RecordsError(f"{path} is missing; rebuild the records")
        if verify:
            size = path.stat().st_size
            if size != shard["bytes"] or hashlib.sha256(path.read_bytes()).hexdigest() != shard["sha256"]:
                raise RecordsError(f"{path} is corrupt or truncated ({size} bytes, {shard['bytes']} expected, "
                                   "or a different checksum); rebuild the records")
        paths.append(str(path))
    return paths


def parse_example(serialized):
    """A serialized record -> dict(piece, transpose, num_frames, cells) (cells: int64 flat indices)."""
    from pianorbm.common.quiet import tf

    spec = {
        "piece": tf.io.FixedLenFeature([], tf.string),
        "transpose": tf.io.FixedLenFeature([], tf.int64),
        "num_frames": tf.io.FixedLenFeature([], tf.int64),
        "cell_deltas": tf.io.VarLenFeature(tf.int64),
    }
    parsed = tf.io.parse_single_example(serialized, spec)
    cells = tf.cumsum(tf.sparse.to_dense(parsed.pop("cell_deltas")))
    return {**parsed, "cells": cells}


def cells_to_dense(cells, num_frames):
    """(num_frames, 88) float32 roll from flat cell indices, in TensorFlow."""
    from pianorbm.common.quiet import tf

    flat = tf.scatter_nd(cells[:, None], tf.ones_like(cells, dtype=tf.float32), [num_frames * KEYS])
    return tf.reshape(flat, [num_frames, KEYS])


def read_split(records_dir: Path, split: str, verify: bool = True) -> list[dict]:
    """Every record of a split as numpy: [{piece, transpose, num_frames, cells}] (for tests and tools)."""
    from pianorbm.common.quiet import tf

    info = load_info(records_dir)
    paths = shard_paths(records_dir, info, split, verify)
    records = []
    try:
        for item in tf.data.TFRecordDataset(paths).map(parse_example):
            records.append({"piece": item["piece"].numpy().decode(), "transpose": int(item["transpose"]),
                            "num_frames": int(item["num_frames"]), "cells": item["cells"].numpy()})
    except tf.errors.DataLossError as err:
        raise RecordsError(f"a record file of split {split!r} in {records_dir} is corrupt: {err.message}") from err
    return records
