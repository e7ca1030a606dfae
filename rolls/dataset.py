"""The tf.data input: records -> dense float32 piano-roll windows, ready for the model.

Training (``seq_len`` set): each epoch, every piece is cut into consecutive windows of ``seq_len``
frames starting at a random offset below ``seq_len`` (so window boundaries move between epochs);
windows are shuffled with a seed and batched to (batch, seq_len, 88). Without ``pad``, the frames
before the offset, each piece's tail and pieces shorter than ``seq_len`` give no window. With
``pad``, every frame of every piece is in a window each epoch: the frames before the offset make a
window of their own, and short windows are zero-padded at the end; elements are then
``(windows, lengths)``. Evaluation (``seq_len`` None): whole pieces, padded per batch to the
longest, with their lengths and names.
"""

from __future__ import annotations

from pathlib import Path

from pianorbm.rolls.pianoroll import KEYS
from pianorbm.rolls.records import RecordsError, cells_to_dense, load_info, parse_example, shard_paths


def make_dataset(records_dir: Path, split: str = "train", *, seq_len: int | None = 100, batch_size: int = 32,
                 shuffle: bool = True, seed: int = 0, epoch: int = 0, verify: bool = True,
                 drop_remainder: bool = True, pad: bool = False, pieces: list[str] | None = None):
    """A ``tf.data.Dataset`` over one split of a records folder, for one epoch.

    With ``seq_len``: elements are float32 (batch_size, seq_len, 88) windows. Without: elements are
    ``(rolls, lengths, names)``, rolls float32 (batch, T_max, 88) zero-padded, lengths int64 (batch,),
    names string (batch,). ``pieces``: only the examples of the pieces so named.
    Everything random (file and window order, window offsets) is a function of ``seed`` and
    ``epoch``, so an epoch's batches are the same in every run: training resumes mid-epoch by
    skipping the batches it has already used.
    """
    from pianorbm.common.quiet import tf

    info = load_info(records_dir)
    paths = shard_paths(records_dir, info, split, verify)
    if seq_len is not None and not pad and info["splits"][split]["examples"] and \
            max(p["frames"] for p in info["pieces"] if p["split"] == split) < seq_len:
        raise RecordsError(f"every piece of split {split!r} is shorter than seq_len={seq_len} frames; "
                           "use a shorter --seq-len")
    epoch_seed = seed * 1_000_003 + epoch
    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle:
        files = files.shuffle(len(paths), seed=epoch_seed)
    records = files.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(paths)),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    examples = records.map(parse_example, num_parallel_calls=tf.data.AUTOTUNE)
    if pieces is not None:
        wanted = tf.constant(list(pieces), tf.string, shape=[len(pieces)])
        examples = examples.filter(lambda p: tf.reduce_any(tf.equal(p["piece"], wanted)))
    if seq_len is None:
        rolls = examples.map(lambda p: (cells_to_dense(p["cells"], p["num_frames"]), p["num_frames"], p["piece"]),
                             num_parallel_calls=tf.data.AUTOTUNE)
        return rolls.padded_batch(batch_size, padded_shapes=([None, KEYS], [], [])).prefetch(tf.data.AUTOTUNE)

    if not pad:
        examples = examples.filter(lambda p: p["num_frames"] >= seq_len)
    if shuffle:
        examples = examples.shuffle(1024, seed=epoch_seed)

    def random_offset(piece, limit):
        identity = tf.strings.to_hash_bucket_fast(piece["piece"], 1 << 62) + piece["transpose"]
        return tf.random.stateless_uniform([], seed=tf.stack([tf.constant(epoch_seed, tf.int64), identity]),
                                           minval=0, maxval=limit, dtype=tf.int64) if shuffle \
            else tf.constant(0, tf.int64)

    def windows(piece):
        """(count, seq_len, 88) bool windows of one piece, from a random offset below seq_len."""
        frames = piece["num_frames"]
        offset = random_offset(piece, tf.minimum(tf.cast(seq_len, tf.int64), frames - seq_len + 1))
        count = (frames - offset) // seq_len
        cells = piece["cells"] - offset * KEYS
        cells = tf.boolean_mask(cells, (cells >= 0) & (cells < count * seq_len * KEYS))
        flat = tf.scatter_nd(cells[:, None], tf.ones_like(cells, dtype=tf.bool), [count * seq_len * KEYS])
        return tf.reshape(flat, [count, seq_len, KEYS])

    def padded_windows(piece):
        """All frames of one piece: windows [0, offset), [offset, offset + seq_len)... zero-padded at
        the end to seq_len frames, with their lengths."""
        frames, length = piece["num_frames"], tf.cast(seq_len, tf.int64)
        offset = random_offset(piece, tf.minimum(length, frames))
        lead = tf.cast(offset > 0, tf.int64)
        count = lead + (frames - offset + length - 1) // length
        starts = tf.concat([tf.zeros([lead], tf.int64), offset + length * tf.range(count - lead, dtype=tf.int64)], 0)
        ends = tf.concat([starts[1:], tf.reshape(frames, [1])], 0)
        steps, keys = piece["cells"] // KEYS, piece["cells"] % KEYS
        window = tf.searchsorted(starts, steps, side="right", out_type=tf.int64) - 1
        flat_index = (window * length + steps - tf.gather(starts, window)) * KEYS + keys
        flat = tf.scatter_nd(flat_index[:, None], tf.ones_like(flat_index, dtype=tf.bool), [count * length * KEYS])
        return tf.reshape(flat, [count, seq_len, KEYS]), ends - starts

    if pad:
        out = examples.map(padded_windows, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
        if shuffle:
            out = out.shuffle(2048, seed=epoch_seed)
        out = out.batch(batch_size, drop_remainder=drop_remainder)
        return out.map(lambda batch, lengths: (tf.cast(batch, tf.float32), lengths),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    out = examples.map(windows, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
    if shuffle:
        out = out.shuffle(2048, seed=epoch_seed)
    out = out.batch(batch_size, drop_remainder=drop_remainder)
    return out.map(lambda batch: tf.cast(batch, tf.float32), num_parallel_calls=tf.data.AUTOTUNE) \
        .prefetch(tf.data.AUTOTUNE)


def split_frames(records_dir: Path, split: str, batch_size: int = 64):
    """Every frame of a split as numpy, pieces concatenated in the records' order: float32 (F, 88),
    and the pieces' lengths."""
    import numpy as np
    from pianorbm.common.quiet import tf

    frames, lengths = [], []
    for rolls, batch_lengths, _ in make_dataset(records_dir, split, seq_len=None, batch_size=batch_size,
                                                shuffle=False):
        frames.append(tf.boolean_mask(rolls, tf.sequence_mask(batch_lengths, tf.shape(rolls)[1])).numpy())
        lengths += batch_lengths.numpy().tolist()
    return np.concatenate(frames), lengths
