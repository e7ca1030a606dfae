import json
import pickle
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from pianorbm.cli import main
from pianorbm.curate.config import CurateConfig
from pianorbm.curate.curation import curate_folder
from pianorbm.common.settings import SettingsError
from pianorbm.rolls.build_records import BuildError, build_records
from pianorbm.rolls.records_config import RecordsConfig
from pianorbm.rolls.dataset import make_dataset
from pianorbm.rolls.pianoroll import KEYS, cells_to_roll
from pianorbm.rolls.records import RecordsError, read_split
from pianorbm.rolls.standard_datasets import UnsafePickleError, load_benchmark_pickle
from tests.conftest import SHARED_DATA, build_midi

PUBLISHED_STEPS = {"JSB Chorales": (13807, 4602, 4725), "Nottingham": (176561, 45513, 44463)}


@pytest.fixture(scope="module")
def benchmarks():
    folder = SHARED_DATA / "benchmarks"
    if not folder.is_dir():
        pytest.skip(f"benchmark pickles not found at {folder}")
    return folder


def tune(seed, shift=0, length=48):
    rng = np.random.default_rng(seed)
    pitches = 48 + rng.integers(0, 24, length) + shift
    return [(i * 240, 240 * int(rng.integers(1, 3)), int(p)) for i, p in enumerate(pitches)]


@pytest.fixture(scope="module")
def clean_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for i in range(30):
        build_midi(root / "raw" / f"tune{i:02d}.mid", [{"name": "Piano", "program": 0, "notes": tune(i)}])
    # a transposed copy of tune 3 under another name: must share tune 3's split
    build_midi(root / "raw" / "zz_tune03_up_a_third.mid", [{"name": "Piano", "notes": tune(3, shift=4)}])
    curate_folder(root / "raw", root / "clean", CurateConfig(piano_only=True, min_notes=8), jobs=2)
    return root / "clean"


@pytest.mark.parametrize("name", ["JSB Chorales", "Nottingham"])
def test_benchmark_pickles_import_with_published_splits(benchmarks, tmp_path, name):
    info = build_records(tmp_path, RecordsConfig(), pickle_path=benchmarks / f"{name}.pickle")
    assert tuple(info["splits"][s]["frames"] for s in ("train", "valid", "test")) == PUBLISHED_STEPS[name]
    assert info["steps_per_quarter"] == (1 if name.startswith("JSB") else 2)
    original = load_benchmark_pickle(benchmarks / f"{name}.pickle")
    records = {r["piece"]: r for r in read_split(tmp_path, "valid")}
    assert len(records) == len(original["valid"])
    sequence = original["valid"][5]
    roll = cells_to_roll(records["valid/0005"]["cells"], records["valid/0005"]["num_frames"])
    assert [sorted(int(k) + 21 for k in np.flatnonzero(frame)) for frame in roll] == [sorted(s) for s in sequence]


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"train": [[[60]]], "valid": [Exploit()], "test": []}))
    with pytest.raises(UnsafePickleError, match="refused to load io.open"):
        load_benchmark_pickle(path)
    assert not marker.exists()
    numpy_scalars = tmp_path / "np.pickle"
    numpy_scalars.write_bytes(pickle.dumps({"train": [[[np.int64(60)]]], "valid": [], "test": []}, protocol=2))
    assert load_benchmark_pickle(numpy_scalars)["train"] == [[[60]]]
    arrays = tmp_path / "arrays.pickle"
    arrays.write_bytes(pickle.dumps({"train": [np.array([60])], "valid": [], "test": []}))
    with pytest.raises(UnsafePickleError):
        load_benchmark_pickle(arrays)


def test_records_round_trip_and_describe_themselves(clean_corpus, tmp_path):
    info = build_records(tmp_path / "rec", RecordsConfig(shards=3, transpose=(-2, 2)), clean_dir=clean_corpus, jobs=2)
    saved = json.loads((tmp_path / "rec" / "dataset.json").read_text())
    assert saved["config"]["transpose"] == [-2, 2] and saved["source"]["kind"] == "curated"
    written = [p for p in (tmp_path / "rec").iterdir() if p.is_file()]
    assert len(written) > 3 and {oct(p.stat().st_mode & 0o777) for p in written} == {"0o644"}  # shards too
    assert sum(s["pieces"] for s in saved["splits"].values()) == 31
    for split in ("train", "valid", "test"):  # each split's histogram counts that split's cells, nothing else
        cells = [r["cells"] for r in read_split(tmp_path / "rec", split) if r["transpose"] == 0]
        assert sum(saved["pitch_histograms"][split]) == sum(len(c) for c in cells) > 0
        assert saved["pitch_histograms"][split] == np.bincount(np.concatenate(cells) % 88, minlength=88).tolist()
    train = read_split(tmp_path / "rec", "train")
    assert {r["transpose"] for r in train} == {-2, -1, 0, 1, 2}
    assert len(train) == 5 * saved["splits"]["train"]["pieces"]
    for split in ("valid", "test"):
        assert {r["transpose"] for r in read_split(tmp_path / "rec", split)} <= {0}
    # the records hold what the roll of the clean file holds
    from pianorbm.curate.file_curation import parse_song
    from pianorbm.rolls.pianoroll import notes_to_roll

    song, _ = parse_song((clean_corpus / "tune07.mid").read_bytes())
    expected = notes_to_roll(song, song.notes)
    record = next(r for split in ("train", "valid", "test") for r in read_split(tmp_path / "rec", split)
                  if r["piece"] == "tune07.mid" and r["transpose"] == 0)
    assert np.array_equal(cells_to_roll(record["cells"], record["num_frames"]), expected)
    assert info["splits"] == saved["splits"]


def test_split_is_deterministic_and_keeps_transposed_copies_together(clean_corpus, tmp_path):
    one = build_records(tmp_path / "a", RecordsConfig(), clean_dir=clean_corpus, jobs=1)
    two = build_records(tmp_path / "b", RecordsConfig(shards=2), clean_dir=clean_corpus, jobs=2)
    split_of = {p["piece"]: p["split"] for p in one["pieces"]}
    assert split_of == {p["piece"]: p["split"] for p in two["pieces"]}
    assert split_of["tune03.mid"] == split_of["zz_tune03_up_a_third.mid"]
    assert set(split_of.values()) == {"train", "valid", "test"}


def test_rerun_is_a_no_op_and_a_setting_change_rebuilds(clean_corpus, tmp_path):
    first = build_records(tmp_path, RecordsConfig(), clean_dir=clean_corpus)
    again = build_records(tmp_path, RecordsConfig(), clean_dir=clean_corpus)
    assert again.get("up_to_date") and again["fingerprint"] == first["fingerprint"]
    changed = build_records(tmp_path, RecordsConfig(steps_per_quarter=2, shards=2), clean_dir=clean_corpus)
    assert not changed.get("up_to_date")
    assert changed["splits"]["train"]["frames"] < first["splits"]["train"]["frames"]
    assert sorted(p.name for p in tmp_path.glob("*.tfrecord")) == sorted(
        s["file"] for split in changed["splits"].values() for s in split["shards"])


def test_corrupt_record_file_is_named(clean_corpus, tmp_path):
    build_records(tmp_path, RecordsConfig(shards=2), clean_dir=clean_corpus)
    victim = tmp_path / "train-00001-of-00002.tfrecord"
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(RecordsError, match="train-00001-of-00002.tfrecord is corrupt or truncated"):
        make_dataset(tmp_path, "train", seq_len=16)
    # without the checksum check, TensorFlow's own error still names the split
    with pytest.raises(RecordsError, match="corrupt"):
        read_split(tmp_path, "train", verify=False)


def test_user_mistakes_are_clear(clean_corpus, tmp_path):
    with pytest.raises(BuildError, match="no manifest"):
        build_records(tmp_path / "out", RecordsConfig(), clean_dir=tmp_path)
    with pytest.raises(SettingsError, match="three fractions"):
        RecordsConfig(split=(0.5, 0.6, 0.1))
    one_file = tmp_path / "one"
    shutil.copytree(clean_corpus, one_file)
    manifest = (one_file / "manifest.csv").read_text().splitlines()
    (one_file / "manifest.csv").write_text("\n".join(manifest[:2]) + "\n")
    with pytest.raises(BuildError, match="leaves 'valid' empty"):
        build_records(tmp_path / "out", RecordsConfig(), clean_dir=one_file)
    empty = tmp_path / "empty"
    shutil.copytree(clean_corpus, empty)
    (empty / "manifest.csv").write_text(manifest[0] + "\n")
    with pytest.raises(BuildError, match="keeps no file"):
        build_records(tmp_path / "out", RecordsConfig(), clean_dir=empty)
    with pytest.raises(RecordsError, match="not a records folder"):
        make_dataset(tmp_path, "train")


def test_training_windows_and_whole_sequences(clean_corpus, tmp_path):
    info = build_records(tmp_path, RecordsConfig(), clean_dir=clean_corpus)
    batches = list(make_dataset(tmp_path, "train", seq_len=16, batch_size=4, seed=3, epoch=0))
    assert batches and all(b.shape == (4, 16, KEYS) and b.dtype.name == "float32" for b in batches)
    again = list(make_dataset(tmp_path, "train", seq_len=16, batch_size=4, seed=3, epoch=0))
    other = list(make_dataset(tmp_path, "train", seq_len=16, batch_size=4, seed=3, epoch=1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))
    assert sum(b.shape[0] * 16 for b in batches) >= 0.5 * info["splits"]["train"]["frames"]
    assert all(b.numpy().any(axis=2).mean() > 0.5 for b in batches)  # windows hold music
    (rolls, lengths, names), = list(make_dataset(tmp_path, "test", seq_len=None, batch_size=64, shuffle=False))
    test_pieces = {p["piece"]: p["frames"] for p in info["pieces"] if p["split"] == "test"}
    assert sorted(lengths.numpy().tolist()) == sorted(test_pieces.values())
    assert sorted(name.decode() for name in names.numpy()) == sorted(test_pieces)
    first = sorted(test_pieces)[:1]
    (_, lengths, names), = list(make_dataset(tmp_path, "test", seq_len=None, shuffle=False, pieces=first))
    assert [name.decode() for name in names.numpy()] == first and lengths.numpy().tolist() == [test_pieces[first[0]]]
    with pytest.raises(RecordsError, match="shorter than seq_len"):
        make_dataset(tmp_path, "train", seq_len=10_000)


def test_cli_build_records(clean_corpus, benchmarks, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["build-records", "-q", str(clean_corpus), str(tmp_path / "rec"), "--shards", "2"])
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "4 steps per quarter" in result.output
    again = runner.invoke(main, ["build-records", "-q", str(clean_corpus), str(tmp_path / "rec"), "--shards", "2"])
    assert "up to date" in again.output
    jsb = runner.invoke(main, ["build-records", "--from-pickle", str(benchmarks / "JSB Chorales.pickle"),
                               str(tmp_path / "jsb")])
    assert jsb.exit_code == 0 and "13807" in jsb.output
    bad = runner.invoke(main, ["build-records", str(clean_corpus), str(tmp_path / "x"), "--split", "1,1"])
    assert bad.exit_code == 2 and "three fractions" in bad.output


def test_the_split_follows_the_music_not_the_grid(clean_corpus, tmp_path):
    splits = []
    for name, config in (("quarters-2", RecordsConfig(steps_per_quarter=2)),
                         ("quarters-4", RecordsConfig(steps_per_quarter=4)),
                         ("seconds", RecordsConfig(steps_per_quarter=None, dt=0.05))):
        info = build_records(tmp_path / name, config, clean_dir=clean_corpus, jobs=2)
        splits.append({p["piece"]: p["split"] for p in info["pieces"]})
    assert len(splits[0]) == 31 and splits[0] == splits[1] == splits[2]
    assert set(splits[0].values()) == {"train", "valid", "test"}


def test_a_split_key_ignores_tick_resolution_transposition_and_a_late_start(tmp_path):
    from pianorbm.curate.file_curation import parse_song
    from pianorbm.rolls.pieces import split_key

    def key(path):
        song, _ = parse_song(path.read_bytes())
        return split_key(song.notes.onset / song.ticks_per_beat, song.notes.pitch)

    notes = tune(7)
    base = key(build_midi(tmp_path / "a.mid", [{"name": "Piano", "notes": notes}]))
    finer = [(2 * onset, 2 * length, pitch) for onset, length, pitch in notes]
    assert key(build_midi(tmp_path / "b.mid", [{"name": "Piano", "notes": finer}], ticks_per_beat=960)) == base
    assert key(build_midi(tmp_path / "c.mid", [{"name": "Piano", "notes": tune(7, shift=5)}])) == base
    later = [(onset + 1920, length, pitch) for onset, length, pitch in notes]
    assert key(build_midi(tmp_path / "d.mid", [{"name": "Piano", "notes": later}])) == base
    changed = notes[:-1] + [(notes[-1][0], notes[-1][1], notes[-1][2] + 1)]
    assert key(build_midi(tmp_path / "e.mid", [{"name": "Piano", "notes": changed}])) != base


def test_records_of_the_format_before_music_splits_are_refused_with_the_rebuild_command(clean_corpus, tmp_path):
    from pianorbm.rolls.records import RecordsError, load_info

    build_records(tmp_path, RecordsConfig(), clean_dir=clean_corpus)
    info = json.loads((tmp_path / "dataset.json").read_text())
    # as format 2 wrote it (splits from the grid): its fingerprint covered the format
    (tmp_path / "dataset.json").write_text(json.dumps({**info, "format": 2, "fingerprint": "of format 2"}))
    with pytest.raises(RecordsError, match="records format 2, now 3.*run the same build-records command again"):
        load_info(tmp_path)
    rebuilt = build_records(tmp_path, RecordsConfig(), clean_dir=clean_corpus)
    assert rebuilt["format"] == 3 and load_info(tmp_path)["format"] == 3
