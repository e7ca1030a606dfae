"""The tf.data input: records -> dense float32 piano-roll windows, ready for the model.

Training (``seq_len`` set): each epoch, every piece is cut into consecutive windows of ``seq_len``
frames starting at a random offset below ``seq_len`` (so window boundaries move between epochs and
nearly every frame is seen each epoch); windows are shuffled with a seed and batched to
(batch, seq_len, 88). Pieces shorter than ``seq_len`` give no window. Evaluation (``seq_len`` None):
whole pieces, padded per batch to the longest, with their lengths.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.pianoroll import KEYS
from pipelines.records import RecordsError, cells_to_dense, load_info, parse_example, shard_paths


def make_dataset(records_dir: Path, split: str = "train", *, seq_len: int | None = 100, batch_size: int = 32,
                 shuffle: bool = True, seed: int = 0, epoch: int = 0, verify: bool = True,
                 drop_remainder: bool = True):
    """A ``tf.data.Dataset`` over one split of a records folder, for one epoch.

    With ``seq_len``: elements are float32 (batch_size, seq_len, 88) windows. Without: elements are
    ``(rolls, lengths)``, rolls float32 (batch, T_max, 88) zero-padded, lengths int64 (batch,).
    Everything random (file and window order, window offsets) is a function of ``seed`` and
    ``epoch``, so an epoch's batches are the same in every run: training resumes mid-epoch by
    skipping the batches it has already used.
    """
    import tensorflow as tf

    info = load_info(records_dir)
    paths = shard_paths(records_dir, info, split, verify)
    if seq_len is not None and info["splits"][split]["examples"] and \
            max(p["frames"] for p in info["pieces"] if p["split"] == split) < seq_len:
        raise RecordsError(f"every piece of split {split!r} is shorter than seq_len={seq_len} frames; "
                           "use a shorter --seq-len")
    epoch_seed = seed * 1_000_003 + epoch
    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle:
        files = files.shuffle(len(paths), seed=epoch_seed)
    records = files.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(paths)),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    pieces = records.map(parse_example, num_parallel_calls=tf.data.AUTOTUNE)
    if seq_len is None:
        rolls = pieces.map(lambda p: (cells_to_dense(p["cells"], p["num_frames"]), p["num_frames"]),
                           num_parallel_calls=tf.data.AUTOTUNE)
        return rolls.padded_batch(batch_size, padded_shapes=([None, KEYS], [])).prefetch(tf.data.AUTOTUNE)

    pieces = pieces.filter(lambda p: p["num_frames"] >= seq_len)
    if shuffle:
        pieces = pieces.shuffle(1024, seed=epoch_seed)

    def windows(piece):
        """(count, seq_len, 88) bool windows of one piece, from a random offset below seq_len."""
        frames = piece["num_frames"]
        identity = tf.strings.to_hash_bucket_fast(piece["piece"], 1 << 62) + piece["transpose"]
        limit = tf.minimum(tf.cast(seq_len, tf.int64), frames - seq_len + 1)
        offset = tf.random.stateless_uniform([], seed=tf.stack([tf.constant(epoch_seed, tf.int64), identity]),
                                             minval=0, maxval=limit, dtype=tf.int64) if shuffle \
            else tf.constant(0, tf.int64)
        count = (frames - offset) // seq_len
        cells = piece["cells"] - offset * KEYS
        cells = tf.boolean_mask(cells, (cells >= 0) & (cells < count * seq_len * KEYS))
        flat = tf.scatter_nd(cells[:, None], tf.ones_like(cells, dtype=tf.bool), [count * seq_len * KEYS])
        return tf.reshape(flat, [count, seq_len, KEYS])

    out = pieces.map(windows, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
    if shuffle:
        out = out.shuffle(2048, seed=epoch_seed)
    out = out.batch(batch_size, drop_remainder=drop_remainder)
    return out.map(lambda batch: tf.cast(batch, tf.float32), num_parallel_calls=tf.data.AUTOTUNE) \
        .prefetch(tf.data.AUTOTUNE)
