"""Near-duplicate grouping on real song versions (POP909 folders are the truth) and its use by
build-records: a group never straddles splits."""

from __future__ import annotations

import shutil
from collections import defaultdict

import numpy as np
import pytest

from pianorbm.curate.config import CurateConfig
from pianorbm.curate.curation import curate_folder
from pianorbm.curate.near_duplicates import BINS, candidate_pairs, pair_similarity, sketch
from tests.conftest import SHARED_DATA

POP909 = SHARED_DATA / "pop909"
# 002-v1: the same notes 1.6 beats later under another tempo map; 088's versions: at half the
# beats (a tempo change) with the melody an octave up; 360-v1: every note echoed 36 ticks later
VERSIONED = ["002", "088", "360"]
DISTINCT = ["001", "003", "010", "017", "041"]
TRANSPOSED = "546"  # 546-v1 is 546 a whole step down


def _song_folders(tmp_path, songs):
    if not POP909.is_dir():
        pytest.skip(f"{POP909} not found (it lives beside the checkout, as in CI)")
    src = tmp_path / "raw"
    for song in songs:
        shutil.copytree(POP909 / song, src / song)
    return src


def _groups(manifest):
    kept = manifest[manifest.status == "kept"]
    songs = defaultdict(set)
    for path, first in zip(kept.path, kept.near_duplicate_of.fillna("")):
        songs[path.split("/")[0]].add(first or path)
    return songs


def test_versions_group_with_their_song_and_distinct_songs_stay_apart(tmp_path):
    src = _song_folders(tmp_path, VERSIONED + DISTINCT)
    manifest = curate_folder(src, tmp_path / "clean", CurateConfig(piano_only=True), jobs=2).manifest
    for song, firsts in _groups(manifest).items():
        assert len(firsts) == 1, f"{song}'s files fall in {len(firsts)} groups: {sorted(firsts)}"
    for song in VERSIONED:
        members = manifest[manifest.path.str.startswith(song + "/") & (manifest.status == "kept")]
        assert len(members) >= 2 and members.near_duplicate_of.notna().all()
        assert members.near_duplicate_group.nunique() == 1
    firsts = [first for firsts in _groups(manifest).values() for first in firsts]
    assert len(set(firsts)) == len(firsts), "two songs share a group"
    lone = manifest[manifest.path.isin(["001/001.mid", "003/003.mid", "010/010.mid"])]
    assert (lone.near_duplicate_of == lone.path).all()  # each is the first of its own versions' group


def test_transposed_copies_are_found_unless_turned_off(tmp_path):
    src = _song_folders(tmp_path, [TRANSPOSED])
    plain = curate_folder(src, tmp_path / "plain", CurateConfig(near_duplicate_transposed=False), jobs=1).manifest
    assert plain.near_duplicate_of.isna().all()
    transposed = curate_folder(src, tmp_path / "transposed", CurateConfig(), jobs=1).manifest
    kept = transposed[transposed.status == "kept"]
    assert len(kept) == 2 and set(kept.near_duplicate_of) == {f"{TRANSPOSED}/{TRANSPOSED}.mid"}


def test_drop_keeps_one_file_per_group_and_group_brings_them_back(tmp_path):
    src = _song_folders(tmp_path, ["002", "003"])
    dst = tmp_path / "clean"
    dropped = curate_folder(src, dst, CurateConfig(near_duplicates="drop"), jobs=1).manifest.set_index("path")
    near = dropped[dropped.reason == "near_duplicate"]
    assert len(near) >= 1 and (near.status == "duplicate").all()
    assert set(near.duplicate_of) == {"002/002.mid", "003/003.mid"}
    assert all(first.split("/")[0] == path.split("/")[0] for path, first in near.duplicate_of.items())
    assert not any((dst / path).exists() for path in near.index)
    assert (dst / "002/002.mid").exists() and (dst / "003/003.mid").exists()
    regrouped = curate_folder(src, dst, CurateConfig(), jobs=1).manifest.set_index("path")
    assert (regrouped.loc[near.index, "status"] == "kept").all()
    assert all((dst / path).exists() for path in near.index)
    kept = curate_folder(src, tmp_path / "all", CurateConfig(near_duplicates="keep"), jobs=1).manifest
    assert kept.near_duplicate_of.isna().all() and (kept.status == "kept").sum() == (regrouped.status == "kept").sum()


def test_groups_never_straddle_splits(tmp_path):
    from pianorbm.rolls.build_records import build_records
    from pianorbm.rolls.records_config import RecordsConfig

    songs = [f"{n:03d}" for n in range(1, 31)]
    src = _song_folders(tmp_path, songs)
    clean = tmp_path / "clean"
    manifest = curate_folder(src, clean, CurateConfig(piano_only=True), jobs=2).manifest
    info = build_records(tmp_path / "records", RecordsConfig(split=(0.5, 0.25, 0.25), shards=1), clean_dir=clean)
    split_of = {piece["piece"]: piece["split"] for piece in info["pieces"]}
    grouped = manifest[manifest.near_duplicate_of.notna() & (manifest.status == "kept")]
    assert grouped.near_duplicate_group.nunique() >= 15
    straddling = [first for first, members in grouped.groupby("near_duplicate_of")
                  if len({split_of[path] for path in members.path}) > 1]
    assert straddling == []
    song_splits = defaultdict(set)
    for piece, split in split_of.items():
        song_splits[piece.split("/")[0]].add(split)
    assert {song for song, splits in song_splits.items() if len(splits) > 1} == set()
    assert len({split for splits in song_splits.values() for split in splits}) == 3  # the check can fail


def test_sketches_estimate_jaccard_and_buckets_pair_only_similar_parts():
    rng = np.random.default_rng(0)
    base = rng.choice(1 << 40, 3000, replace=False)
    half = np.concatenate([base[:2000], rng.choice(1 << 40, 1000, replace=False) + (1 << 41)])  # J = 0.5
    other = rng.choice(1 << 40, 3000, replace=False) + (1 << 42)
    parts = np.stack([sketch(base)[0], sketch(half)[0], sketch(other)[0]])
    assert sketch(np.concatenate([base, base]))[1] == 3000  # a repeated shingle counts once
    assert parts.shape == (3, BINS) and (parts > 0).all()
    similar = pair_similarity(parts, np.array([[0, 1], [0, 2]]))
    assert abs(similar[0] - 0.5) < 0.15 and similar[1] < 0.05
    pairs = candidate_pairs(parts, owner=np.arange(3))
    assert [0, 1] in pairs.tolist() and [0, 2] not in pairs.tolist() and [1, 2] not in pairs.tolist()


def test_a_file_sketched_in_one_pass_equals_its_parts_sketched_one_by_one():
    from pianorbm.curate.file_curation import parse_song
    from pianorbm.curate.near_duplicates import (MAX_PARTS, MIN_SHINGLES, file_signatures, part_sequences,
                                                 shingles)

    if not POP909.is_dir():
        pytest.skip(f"{POP909} not found (it lives beside the checkout, as in CI)")
    song, _ = parse_song((POP909 / "002" / "002.mid").read_bytes())
    notes = song.notes
    pitch, onset = notes.pitch, notes.onset / song.ticks_per_beat
    part = notes.track.astype(np.int64) * 16 + notes.channel
    batched = file_signatures(pitch, onset, part, transposed=True)
    sequences = part_sequences(pitch, onset, part)
    assert len(sequences) >= 3  # several parts and the skyline: an n-gram across two parts would show
    for kind in ("pitch_classes", "intervals"):
        one_by_one = [sketch(shingles(sequence, kind == "intervals")) for sequence in sequences]
        kept = sorted((s for s in one_by_one if s[1] >= MIN_SHINGLES), key=lambda s: s[1], reverse=True)[:MAX_PARTS]
        assert len(kept) >= 2
        assert np.array_equal(batched[kind], np.stack([values for values, _ in kept]))
