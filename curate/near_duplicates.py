"""Near-duplicates: files whose parts play mostly the same notes, found without comparing every pair.

Features. Each part of a file (its notes of one track and channel, drums left out) and its
skyline (the highest note of each onset) becomes a sequence of pitches in onset order. Its
shingles are the n-grams of that sequence as pitch classes (octave-shifted parts match) and, with
``transposed``, also as intervals mod 12 (transposed copies match too). No time enters a shingle, so
a shift by any fraction of a beat, a tempo or a resolution change leaves them as they are.

Sketch. Each part keeps a one-permutation MinHash of its shingle set: one 64-bit hash per shingle,
``BINS`` bins, the smallest hash per bin stored as 16 bits (0 marks an empty bin). The share of
equal bins estimates the Jaccard similarity of two parts.

Grouping. Locality-sensitive hashing: parts whose bins agree on a whole band of ``BAND_ROWS`` bins
are candidates; a candidate pair whose estimated similarity reaches the threshold links the two
files, and linked files form groups (union-find). Interval sketches are compared among themselves
at a stricter threshold: 12 keys fall into one interval pattern, so different songs share more of
them. The work grows with files x bands plus the candidates, never with all pairs.
"""

from __future__ import annotations

import base64

import numpy as np

NGRAM = 8  # pitch classes per shingle
BINS = 128
BAND_ROWS = 3  # a band is 3 bins of 16 bits, an exact key; 42 bands
MIN_SHINGLES = 32  # parts with fewer distinct shingles say too little to compare
MAX_PARTS = 12  # the parts with most shingles are kept
DEFAULT_THRESHOLD = 0.3
# POP909 (docs/near-duplicates.md): between different songs the largest similarity of two parts is
# 0.12 by pitch classes and 0.28 by intervals; its transposed versions are at 1.0 by intervals
TRANSPOSED_THRESHOLD = 0.5
CHECKS_PER_BUCKET = 4  # each member of a bucket is checked against this many members before it
EMPTY = 0
ONSET_GRID = 8  # onsets are compared on a grid of 1/8 beat

def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _sorted(high: np.ndarray, middle: np.ndarray, low: np.ndarray, middle_bits: int, low_bits: int) -> np.ndarray:
    """The order of (high, middle, low) as one integer sort; the arguments are non-negative integers,
    ``low`` clipped to its bits (a time past 2^low_bits grid steps sorts as the last one)."""
    low = np.minimum(low, (1 << low_bits) - 1)
    return np.argsort((high << (middle_bits + low_bits)) | (middle << low_bits) | low, kind="stable")


def part_sequences(pitch: np.ndarray, onset_beats: np.ndarray, part: np.ndarray) -> list[np.ndarray]:
    """The pitch sequence of each part and of the skyline: notes by onset on a grid of
    1/``ONSET_GRID`` beat, then by pitch; a note of the pitch just played less than a grid step
    before in the part is left out (a doubled or echoed note)."""
    onset = np.maximum(np.asarray(onset_beats, np.float64), 0)
    pitch, part = np.asarray(pitch).astype(np.int64) & 0x7F, np.asarray(part).astype(np.int64) & 0xFFFFF
    order = _sorted(part, pitch, np.floor(onset * 512).astype(np.int64), 7, 35)
    pitch, onset, part = pitch[order], onset[order], part[order]
    echo = (part[1:] == part[:-1]) & (pitch[1:] == pitch[:-1]) & (onset[1:] - onset[:-1] < 1 / ONSET_GRID)
    keep = np.concatenate([[True], ~echo]) if len(pitch) else np.zeros(0, bool)
    pitch, part = pitch[keep], part[keep]
    grid = np.minimum(np.floor(onset[keep] * ONSET_GRID + 0.5).astype(np.int64), (1 << 35) - 1)
    order = _sorted(part, grid, pitch, 35, 7)
    pitch, grid, part = pitch[order], grid[order], part[order]
    starts = np.flatnonzero(np.concatenate([[True], part[1:] != part[:-1]])) if len(part) else np.zeros(0, int)
    sequences = np.split(pitch, starts[1:]) if len(starts) else []
    top = _sorted(np.zeros_like(grid), grid, 127 - pitch, 35, 7)
    first = np.concatenate([[True], grid[top][1:] != grid[top][:-1]]) if len(top) else np.zeros(0, bool)
    return [*sequences, pitch[top][first]]


def _symbols(sequence: np.ndarray, transposed: bool) -> np.ndarray:
    values = sequence.astype(np.int64)
    return np.diff(values) % 12 if transposed else values % 12


def shingles(sequence: np.ndarray, transposed: bool = False) -> np.ndarray:
    """The n-gram codes of one pitch sequence (pitch classes, or intervals mod 12), repeats included."""
    codes, _ = _batched_shingles([sequence], transposed)
    return codes


def _batched_shingles(sequences: list[np.ndarray], transposed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The n-gram codes of several sequences at once, and the index of the sequence each came from."""
    n = NGRAM - 1 if transposed else NGRAM
    symbols = [_symbols(sequence, transposed) for sequence in sequences]
    lengths = np.array([len(x) for x in symbols], np.int64)
    if not len(symbols) or (lengths < n).all():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    joined = np.concatenate(symbols)
    owner = np.repeat(np.arange(len(symbols)), lengths)
    count = len(joined) - n + 1
    codes = np.zeros(max(count, 0), np.int64)
    for k in range(n):
        codes = codes * 12 + joined[k:count + k]
    whole = owner[:count] == owner[n - 1:]  # n-grams inside one sequence only
    return codes[whole], owner[:count][whole]


def _batched_sketches(codes: np.ndarray, owner: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``sketch`` of the codes of each of ``count`` sequences (``owner``: non-decreasing sequence
    index of each code): (count, BINS) values and (count,) distinct codes."""
    out, distinct = np.zeros((count, BINS), np.uint16), np.zeros(count, np.int64)
    if not len(codes):
        return out, distinct
    hashes = _mix(codes)
    ends = np.cumsum(np.bincount(owner, minlength=count))  # each sequence's codes are contiguous
    hashes = np.concatenate([np.sort(part) for part in np.split(hashes, ends[:-1])])
    new_owner = np.concatenate([[True], owner[1:] != owner[:-1]])
    new = new_owner | np.concatenate([[True], hashes[1:] != hashes[:-1]])
    distinct += np.bincount(owner[new], minlength=count)
    bins = (hashes >> np.uint64(57)).astype(np.int64)
    first = new_owner | np.concatenate([[True], bins[1:] != bins[:-1]])  # the smallest hash of each bin
    out[owner[first], bins[first]] = (_mix(hashes[first]) % np.uint64(65535) + np.uint64(1)).astype(np.uint16)
    return out, distinct


def sketch(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """One-permutation MinHash of the set of shingle codes: ``BINS`` values of 16 bits (0: empty bin),
    the bin being a hash's top 7 bits; and how many distinct codes there are."""
    values, distinct = _batched_sketches(np.asarray(codes, np.int64), np.zeros(len(codes), np.int64), 1)
    return values[0], int(distinct[0])


def file_signatures(pitch, onset_beats, part, transposed: bool = False) -> dict[str, np.ndarray]:
    """A file's sketches by kind: ``pitch_classes`` and, with ``transposed``, ``intervals``; each a
    (parts, BINS) uint16 array of the comparable parts (maybe none): those with at least
    ``MIN_SHINGLES`` distinct shingles, the ``MAX_PARTS`` with most. All of a file's parts are
    sketched together (a few NumPy calls per file, not per part)."""
    sequences = part_sequences(np.asarray(pitch), np.asarray(onset_beats, np.float64), np.asarray(part))
    kinds = ("pitch_classes", "intervals") if transposed else ("pitch_classes",)
    shingled = [_batched_shingles(sequences, kind == "intervals") for kind in kinds]
    codes = np.concatenate([codes for codes, _ in shingled])
    owner = np.concatenate([owner + k * len(sequences) for k, (_, owner) in enumerate(shingled)])
    values, distinct = _batched_sketches(codes, owner, len(kinds) * len(sequences))  # one pass for all kinds
    out = {}
    for k, kind in enumerate(kinds):
        mine = slice(k * len(sequences), (k + 1) * len(sequences))
        comparable = [i for i in np.argsort(-distinct[mine], kind="stable") if distinct[mine][i] >= MIN_SHINGLES]
        out[kind] = values[mine][comparable[:MAX_PARTS]] if comparable else np.zeros((0, BINS), np.uint16)
    return out


def encode_signature(signature: np.ndarray) -> str:
    return base64.b64encode(signature.astype("<u2").tobytes()).decode("ascii")


def decode_signature(text) -> np.ndarray:
    if not isinstance(text, str) or not text:
        return np.zeros((0, BINS), np.uint16)
    return np.frombuffer(base64.b64decode(text), "<u2").reshape(-1, BINS).astype(np.uint16)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)  # the root is the group's smallest index


def candidate_pairs(parts: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """(M, 2) distinct pairs of part indices whose sketches agree on a whole band, of different files.

    Within a bucket (parts of one band key) each part is paired with the ``CHECKS_PER_BUCKET``
    before it, so a bucket of m parts costs O(m), not O(m^2); any link of the bucket still joins it.
    """
    found = []
    for band in range(BINS // BAND_ROWS):
        columns = parts[:, band * BAND_ROWS:(band + 1) * BAND_ROWS]
        full = np.flatnonzero((columns != EMPTY).all(axis=1))  # a band with an empty bin proves nothing
        keys = np.zeros(len(full), np.uint64)
        for r in range(BAND_ROWS):
            keys = (keys << np.uint64(16)) | columns[full, r].astype(np.uint64)
        order = np.argsort(keys, kind="stable")
        keys, members = keys[order], full[order]
        for lag in range(1, CHECKS_PER_BUCKET + 1):
            same = keys[lag:] == keys[:-lag]
            if not same.any():
                break
            found.append(np.stack([members[:-lag][same], members[lag:][same]], axis=1))
    if not found:
        return np.zeros((0, 2), np.int64)
    pairs = np.sort(np.concatenate(found), axis=1)
    pairs = pairs[owner[pairs[:, 0]] != owner[pairs[:, 1]]]
    keys = np.unique(pairs[:, 0].astype(np.int64) * len(parts) + pairs[:, 1])  # in the order of the rows
    return np.stack([keys // len(parts), keys % len(parts)], axis=1)


def pair_similarity(parts: np.ndarray, pairs: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Estimated Jaccard similarity of each pair of parts: the share of equal bins among those where
    either part has a value."""
    out = np.zeros(len(pairs))
    for start in range(0, len(pairs), chunk):
        a, b = parts[pairs[start:start + chunk, 0]], parts[pairs[start:start + chunk, 1]]
        either = ((a != EMPTY) | (b != EMPTY)).sum(axis=1)
        out[start:start + chunk] = ((a == b) & (a != EMPTY)).sum(axis=1) / np.maximum(either, 1)
    return out


def group_files(signatures: list[np.ndarray], threshold: float = DEFAULT_THRESHOLD,
                interval_signatures: list[np.ndarray] | None = None,
                interval_threshold: float = TRANSPOSED_THRESHOLD) -> np.ndarray:
    """The group of each file: the index of its group's first file (itself when alone).

    ``signatures[i]`` is file i's (parts, BINS) array of pitch-class sketches. Files are linked when
    some part of one and some part of the other agree on a band and are estimated at least
    ``threshold`` similar; or, where ``interval_signatures`` are given, when two of their interval
    sketches are at least ``interval_threshold`` similar.
    """
    found = _UnionFind(len(signatures))
    kinds = [(signatures, threshold)] + ([(interval_signatures, interval_threshold)] if interval_signatures else [])
    for sketches, least in kinds:
        counts = np.array([len(s) for s in sketches], dtype=np.int64)
        if not counts.sum():
            continue
        parts = np.concatenate([s for s in sketches if len(s)])
        owner = np.repeat(np.arange(len(sketches)), counts)
        pairs = candidate_pairs(parts, owner)
        for p, q in pairs[pair_similarity(parts, pairs) >= least]:
            found.union(int(owner[p]), int(owner[q]))
    return np.array([found.find(i) for i in range(len(signatures))])
