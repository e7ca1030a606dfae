import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pianorbm.cli import main
from pianorbm.common.settings import SettingsError
from pianorbm.curate.file_curation import parse_song
from pianorbm.model.config import SampleConfig, TrainConfig
from pianorbm.model.generate import generate_rolls
from pianorbm.model.rnn_rbm import RnnRbm
from pianorbm.model.run_folder import load_run_model
from pianorbm.model.sample import SampleError, sample_run
from pianorbm.model.train import train
from pianorbm.rolls.pianoroll import KEYS, notes_to_roll, roll_to_midi


@pytest.fixture(scope="module")
def trained_run(jsb_records, tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    train(jsb_records, root / "run", TrainConfig(hidden=32, recurrent=16, k=5, batch_size=16, seq_len=16,
                                                      epochs=2, image_every=0, learning_rate=3e-3),
          log=lambda *_: None)
    return root / "run"


@pytest.fixture(scope="module")
def tiny_model():
    model = RnnRbm(hidden=16, recurrent=8, cell="gru", seed=1)
    rng = np.random.default_rng(0)
    model.rbm.W.assign(rng.normal(0, 1.0, (88, 16)).astype(np.float32))
    model.rbm.bv.assign(np.full(88, -2.0, np.float32))
    return model


def test_same_seed_same_music_other_seed_other_music(tiny_model):
    a = generate_rolls(tiny_model, 3, 20, k=5, seed=7).numpy()
    b = generate_rolls(tiny_model, 3, 20, k=5, seed=7).numpy()
    c = generate_rolls(tiny_model, 3, 20, k=5, seed=8).numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[1])  # outputs differ from each other


def test_primer_frames_start_every_output(tiny_model):
    primer = np.zeros((4, KEYS), np.float32)
    primer[np.arange(4), [39, 43, 46, 51]] = 1
    rolls = generate_rolls(tiny_model, 5, 12, k=3, primer=primer).numpy()
    assert all(np.array_equal(roll[:4], primer) for roll in rolls)
    with pytest.raises(ValueError, match="more than the 3 requested"):
        generate_rolls(tiny_model, 1, 3, primer=primer)


@pytest.mark.parametrize("mode, limit", [("argmax", 1), ("top-n", 2)])
def test_argmax_and_top_n_bound_the_notes_per_frame(tiny_model, mode, limit):
    rolls = generate_rolls(tiny_model, 4, 30, k=3, mode=mode, top_n=2, threshold=0.0).numpy()
    per_frame = rolls.sum(axis=2)
    assert per_frame.max() <= limit and per_frame.min() == limit  # threshold 0: always that many
    sampled = generate_rolls(tiny_model, 4, 30, k=3, mode="sample").numpy()
    assert sampled.sum(axis=2).max() > limit  # the unrestricted mode is polyphonic here


def test_mean_mode_thresholds(tiny_model):
    loose = generate_rolls(tiny_model, 4, 20, k=3, mode="mean", threshold=0.05).numpy().sum()
    strict = generate_rolls(tiny_model, 4, 20, k=3, mode="mean", threshold=0.95).numpy().sum()
    assert loose > strict


def test_trained_run_samples_music_that_reads_back(trained_run, tmp_path):
    summary = sample_run(trained_run, tmp_path, SampleConfig(num_outputs=3, steps=48, seed=2))
    assert json.loads((tmp_path / "samples.json").read_text())["settings"]["seed"] == 2
    assert summary["steps_per_quarter"] == 1
    for output in summary["outputs"]:
        song, _ = parse_song((tmp_path / output["midi"]).read_bytes())
        assert len(song.notes) > 0 and song.notes.pitch.min() >= 21 and song.notes.pitch.max() <= 108
        assert (tmp_path / output["png"]).read_bytes().startswith(b"\x89PNG")
    # the files hold the rolls that were generated
    rolls = generate_rolls(load_run_model(trained_run), 3, 48, seed=2).numpy().astype(bool)  # the defaults
    for roll, output in zip(rolls, summary["outputs"]):
        song, _ = parse_song((tmp_path / output["midi"]).read_bytes())
        reread = notes_to_roll(song, song.notes, steps_per_quarter=1)
        assert np.array_equal(reread, roll[: len(reread)]) and not roll[len(reread):].any()


def test_sample_command_with_primers_and_clear_errors(trained_run, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["sample", str(trained_run), str(tmp_path / "a"), "-n", "2", "--bars", "4",
                              "--primer-pitches", "60,64,67", "--mode", "top-n", "--top-n", "4"])
    assert ok.exit_code == 0, ok.output
    assert "2 pieces of 16 frames" in ok.output
    song, _ = parse_song((tmp_path / "a" / "sample-000.mid").read_bytes())
    first = sorted(int(p) for p, o in zip(song.notes.pitch, song.notes.onset) if o == 0)
    assert set([60, 64, 67]) <= set(first)
    primer = tmp_path / "primer.mid"
    roll = np.zeros((40, KEYS), bool)
    roll[np.arange(40), 39 + np.arange(40) % 12] = True
    roll_to_midi(roll, steps_per_quarter=1).save(primer)
    long_primer = runner.invoke(main, ["sample", str(trained_run), str(tmp_path / "b"), "--steps", "8", "--primer",
                                       str(primer), "--primer-steps", "20"])
    assert long_primer.exit_code == 1 and "more than the 8 requested" in long_primer.output
    outside = runner.invoke(main, ["sample", str(trained_run), str(tmp_path / "c"), "--primer-pitches", "12,60"])
    assert outside.exit_code == 2 and "MIDI pitches from 21 to 108" in outside.output
    with pytest.raises(SettingsError, match="give one of steps, bars, seconds"):
        SampleConfig(steps=10, bars=2)


def test_earlier_samples_are_kept_unless_overwrite_is_asked_for(trained_run, tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["sample", str(trained_run), str(tmp_path), "-n", "3", "--steps", "8", "-q"])
    assert first.exit_code == 0, first.output
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    again = runner.invoke(main, ["sample", str(trained_run), str(tmp_path), "-n", "1", "--steps", "8", "--seed", "5"])
    assert again.exit_code == 1 and "holds earlier samples (reference." in again.output  # (the first three, "and N more")
    assert "more); sample into another folder, or pass --overwrite to replace them" in again.output
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before  # nothing touched
    with pytest.raises(SampleError, match="holds earlier samples"):
        sample_run(trained_run, tmp_path, SampleConfig(num_outputs=1, steps=8))
    replaced = runner.invoke(main, ["sample", str(trained_run), str(tmp_path), "-n", "1", "--steps", "8", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert sorted(path.name for path in tmp_path.glob("sample-*.mid")) == ["sample-000.mid"]


def test_export_round_trips_through_keras_and_sample(trained_run, tmp_path):
    import keras

    result = CliRunner().invoke(main, ["export", str(trained_run), str(tmp_path / "m.keras")])
    assert result.exit_code == 0, result.output
    assert oct((tmp_path / "m.keras").stat().st_mode & 0o777) == "0o644"
    exported = keras.saving.load_model(tmp_path / "m.keras")
    original = load_run_model(trained_run)
    assert all(np.array_equal(a, b) for a, b in zip(exported.get_weights(), original.get_weights()))
    data = json.loads((trained_run / "data.json").read_text())
    assert not Path(data["records"]).is_absolute()  # the run folder moves with its records
    assert exported.data_description == {**data, "records": str((trained_run / data["records"]).resolve())}
    from_file = sample_run(tmp_path / "m.keras", tmp_path / "a", SampleConfig(num_outputs=2, steps=24, k=5))
    from_run = sample_run(trained_run, tmp_path / "b", SampleConfig(num_outputs=2, steps=24, k=5))
    assert from_file["steps_per_quarter"] == from_run["steps_per_quarter"]
    for output in from_run["outputs"]:  # same weights, same seed: the same music
        assert (tmp_path / "a" / output["midi"]).read_bytes() == (tmp_path / "b" / output["midi"]).read_bytes()
    wrong = CliRunner().invoke(main, ["export", str(trained_run), str(tmp_path / "m.h5")])
    assert wrong.exit_code == 2 and "must end in .keras" in wrong.output


def test_argmax_writes_a_melody_while_the_model_follows_its_own_sample(tiny_model):
    sampled = generate_rolls(tiny_model, 3, 40, k=5, seed=11, mode="sample").numpy()
    emitted, followed = generate_rolls(tiny_model, 3, 40, k=5, seed=11, mode="argmax", return_followed=True)
    emitted, followed = emitted.numpy(), followed.numpy()
    assert emitted.sum(2).max() == 1  # monophonic
    np.testing.assert_array_equal(followed, sampled)  # the same trajectory as sample mode, same seed
    assert not np.array_equal(emitted, sampled)
    locked, locked_followed = generate_rolls(tiny_model, 3, 40, k=5, seed=11, mode="argmax", feedback="emitted",
                                             return_followed=True)
    np.testing.assert_array_equal(locked.numpy(), locked_followed.numpy())  # emitted feedback follows what it writes


def test_sample_writes_audio_pictures_statistics_and_warns_of_empty_output(trained_run, tmp_path):
    summary = sample_run(trained_run, tmp_path, SampleConfig(num_outputs=2, steps=24, k=5, mode="mean",
                                                             threshold=1.0, audio="wav"))
    assert any("has no notes" in w for w in summary["warnings"])  # a threshold of 1 keeps nothing
    statistics = summary["statistics"]
    assert statistics["data"]["pieces"] > 100 and statistics["samples"]["pieces"] == 2
    assert set(statistics["comparison"]["overlap"]) >= {"voices_mean", "clash_rate", "key_fit", "note_lengths"}
    low, high = statistics["comparison"]["data_range"]["voices_mean"]
    assert 1 <= low < high and statistics["comparison"]["within_data_range"]["voices_mean"] == 0.0  # silent samples
    assert summary["reference"]["midi"] == "reference.mid" and (tmp_path / "reference.png").exists()
    png = (tmp_path / "sample-000.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000  # a figure with axes, not a bitmap of cells
    if not any(w.startswith("no audio") for w in summary["warnings"]):
        assert all((tmp_path / o["audio"]).stat().st_size > 1000 for o in summary["outputs"])
