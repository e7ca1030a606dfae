import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from pianorbm.model.config import TrainConfig
from pianorbm.model.rbm import RBM
from pianorbm.model.rnn_rbm import RnnRbm
from pianorbm.model.run_folder import load_run_model, read_history, read_state, write_history
from pianorbm.model.run_folder import describe_wall_time
from pianorbm.model.train import TrainingError, learning_rate_halvings, train, validation_interval

REPO = Path(__file__).resolve().parents[1]
TINY = dict(hidden=24, recurrent=16, k=3, batch_size=8, seq_len=16, epochs=2, image_every=0, patience=0)


def small_rbm(visible=6, hidden=4, seed=0):
    rbm = RBM(visible, hidden, weight_stddev=0.5)
    rbm.build(None)
    rng = np.random.default_rng(seed)
    rbm.W.assign(rng.normal(0, 0.7, (visible, hidden)).astype(np.float32))
    return rbm, rng


def test_free_energy_matches_a_brute_force_sum_over_hidden_states():
    rbm, rng = small_rbm()
    v = (rng.random((5, 6)) < 0.5).astype(np.float32)
    bv, bh = rng.normal(size=(5, 6)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    W = rbm.W.numpy()
    expected = []
    for n in range(5):
        energies = [-(v[n] @ bv[n]) - (np.array(h) @ bh[n]) - v[n] @ W @ np.array(h)
                    for h in itertools.product([0, 1], repeat=4)]
        expected.append(-np.log(np.sum(np.exp(-np.array(energies)))))
    np.testing.assert_allclose(rbm.free_energy(v, bv, bh).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_cd_cost_gradient_matches_numpy():
    rbm, rng = small_rbm(seed=1)
    v = (rng.random((7, 6)) < 0.5).astype(np.float32)
    negative = (rng.random((7, 6)) < 0.5).astype(np.float32)
    bv, bh = rng.normal(size=(7, 6)).astype(np.float32), rng.normal(size=(7, 4)).astype(np.float32)
    bv_t, bh_t = tf.constant(bv), tf.constant(bh)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([bv_t, bh_t])
        cost = tf.reduce_mean(rbm.free_energy(v, bv_t, bh_t)) - tf.reduce_mean(rbm.free_energy(negative, bv_t, bh_t))
    W = rbm.W.numpy()
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    hv, hn = sigmoid(v @ W + bh), sigmoid(negative @ W + bh)
    np.testing.assert_allclose(tape.gradient(cost, rbm.W).numpy(), -(v.T @ hv - negative.T @ hn) / 7, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(cost, bv_t).numpy(), -(v - negative) / 7, atol=1e-6)
    np.testing.assert_allclose(tape.gradient(cost, bh_t).numpy(), -(hv - hn) / 7, atol=1e-6)


@pytest.mark.parametrize("sampler", ["xorshift", "philox"])
def test_gibbs_chain_samples_the_rbm(sampler):
    # with W = 0 the visible units are independent Bernoulli(sigmoid(bv))
    rbm, _ = small_rbm()
    rbm.W.assign(np.zeros((6, 4), np.float32))
    n = 20000
    bv = np.tile(np.array([-2, -1, 0, 0.5, 1, 3], np.float32), (n, 1))
    v, mean, first = rbm.gibbs(tf.zeros((n, 6)), bv, tf.zeros((n, 4)), 5, tf.constant([3, 4], tf.int64), sampler)
    np.testing.assert_allclose(v.numpy().mean(axis=0), 1 / (1 + np.exp(-bv[0])), atol=0.015)
    again, _, _ = rbm.gibbs(tf.zeros((n, 6)), bv, tf.zeros((n, 4)), 5, tf.constant([3, 4], tf.int64), sampler)
    assert np.array_equal(v.numpy(), again.numpy())  # same seed, same samples


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_biases_at_t_depend_only_on_frames_before_t(cell):
    model = RnnRbm(hidden=8, recurrent=5, cell=cell)
    model.to_visible_bias.kernel.assign(np.random.default_rng(0).normal(0, 1, (5, 88)).astype(np.float32))
    frames = (np.random.default_rng(1).random((2, 10, 88)) < 0.2).astype(np.float32)
    bv, _ = model(frames)
    changed = frames.copy()
    changed[:, 4] = 1 - changed[:, 4]
    bv2, _ = model(changed)
    assert np.allclose(bv[:, :5], bv2[:, :5]) and not np.allclose(bv[:, 5], bv2[:, 5])
    np.testing.assert_allclose(bv[0, 0], bv[1, 0], atol=1e-6)  # step 0 sees only the initial state


def test_padding_of_masked_windows_does_not_count():
    model = RnnRbm(hidden=12, recurrent=6, cell="gru", k=3)
    rng = np.random.default_rng(0)
    frames = (rng.random((3, 10, 88)) < 0.1).astype(np.float32)
    lengths = tf.constant([10, 4, 7], tf.int64)
    padded = frames.copy()
    for b, length in enumerate(lengths.numpy()):
        padded[b, length:] = 0
    garbage = padded.copy()
    for b, length in enumerate(lengths.numpy()):
        garbage[b, length:] = 1
    zero_padded = model.cd_cost(tf.constant(padded), 5, lengths=lengths)
    garbage_padded = model.cd_cost(tf.constant(garbage), 5, lengths=lengths)
    np.testing.assert_allclose([float(x) for x in zero_padded], [float(x) for x in garbage_padded], rtol=1e-6)
    unmasked = model.cd_cost(tf.constant(garbage), 5)
    assert abs(float(unmasked[1]) - float(garbage_padded[1])) > 1e-3  # the mask is what hides the garbage


def test_padded_windows_hold_every_frame_once(jsb_records):
    from pianorbm.rolls.dataset import make_dataset
    from pianorbm.rolls.records import read_split

    info = json.loads((jsb_records / "dataset.json").read_text())
    active = sum(len(piece["cells"]) for piece in read_split(jsb_records, "train"))
    for epoch in (0, 1):
        frames = cells = 0
        for windows, lengths in make_dataset(jsb_records, "train", seq_len=32, batch_size=16, epoch=epoch,
                                             pad=True, drop_remainder=False):
            windows, lengths = windows.numpy(), lengths.numpy()
            assert all(not w[n:].any() for w, n in zip(windows, lengths))  # zeros past each length
            assert lengths.min() >= 1
            frames += lengths.sum()
            cells += int(windows.sum())
        assert frames == info["splits"]["train"]["frames"] and cells == active


def test_validation_nll_picks_the_best_epoch(jsb_records, tmp_path):
    config = TrainConfig(**{**TINY, "epochs": 3, "validation_nll_every": 2})
    state = train(jsb_records, tmp_path / "run", config, log=lambda *_: None)
    measured = {row["epoch"]: row["val_nll"] for row in read_history(tmp_path / "run") if row["val_nll"] != ""}
    assert sorted(measured) == [2, 3]  # every 2 epochs, and the last
    assert all(8 < nll < 13 for nll in measured.values())  # between a good model and the Bernoulli baseline
    assert state["criterion"] == "val_nll" and state["best_validation"] == min(measured.values())
    assert state["best_epoch"] == min(measured, key=measured.get)


def test_the_default_schedule_validates_by_training_frames_and_says_where_time_went():
    def every(frames):
        return validation_interval(TrainConfig(), {"splits": {"train": {"frames": frames, "example_frames": frames}}})

    assert (every(13_807), every(176_561), every(1_381_218)) == (109, 8, 1)  # JSB, Nottingham, POP909
    assert every(3_000_000) == 1 and validation_interval(TrainConfig(validation_nll_every=3), {}) == 3
    line = describe_wall_time({"compile": 30.0, "train": 3000.0, "validate": 570.0})
    assert line == "wall time 1 h 0 min: compiling 30 s (1 %), training 50 min (83 %), validating 10 min (16 %)"


def test_the_learning_rate_halves_after_validations_without_a_better_figure():
    rows = [{"val_nll": value} for value in (9.0, "", 8.0, 8.5, 8.2, "", 8.1, 7.0, 7.5, 7.6, 7.7, 7.8)]
    halvings = [learning_rate_halvings(rows[:end], "val_nll", 2) for end in range(len(rows) + 1)]
    assert halvings == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3]
    assert learning_rate_halvings(rows, "val_nll", 0) == 0
    assert learning_rate_halvings(rows, "val_nll", 1) == 7


@pytest.mark.slow  # three trainings; the halving rule itself is tested fast
def test_a_resumed_run_goes_on_at_the_rate_its_history_calls_for(jsb_records, tmp_path):
    config = TrainConfig(**{**TINY, "epochs": 2, "validation_nll_every": 1, "lr_halve_after": 1})
    train(jsb_records, tmp_path / "run", config, log=lambda *_: None)
    history = read_history(tmp_path / "run")
    assert [row["learning_rate"] for row in history][0] == pytest.approx(config.learning_rate)
    history[0]["val_nll"], history[1]["val_nll"] = 9.0, 9.5  # the second validation: no better
    write_history(tmp_path / "run", history)  # history.csv is what a resumed run goes on from
    train(jsb_records, tmp_path / "run", TrainConfig(**{**config.to_dict(), "epochs": 3}), log=lambda *_: None)
    assert [row["learning_rate"] for row in read_history(tmp_path / "run")] == pytest.approx(
        [history[0]["learning_rate"], history[1]["learning_rate"], config.learning_rate / 2])


def test_rbm_pretraining_moves_only_the_rbm_and_lowers_its_monitor(jsb_records):
    from pianorbm.model.train import build_model, pretrain_rbm

    config = TrainConfig(**{**TINY, "pretrain_epochs": 3})
    model = build_model(config)
    before = {v.path: v.numpy().copy() for v in model.weights}
    monitors = pretrain_rbm(model, jsb_records, config, log=lambda *_: None)
    assert len(monitors) == 3 and monitors[-1] < monitors[0]
    rbm_weights = {id(v) for v in model.rbm.weights}
    for v in model.weights:
        moved = not np.array_equal(before[v.path], v.numpy())
        assert moved == (id(v) in rbm_weights), v.path


def test_save_and_reload_give_identical_outputs(tmp_path):
    model = RnnRbm(hidden=12, recurrent=7, cell="lstm", k=2, seed=5)
    model.rbm.W.assign(np.random.default_rng(2).normal(0, 0.1, (88, 12)).astype(np.float32))
    frames = (np.random.default_rng(3).random((3, 9, 88)) < 0.1).astype(np.float32)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model(frames), loaded(frames)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def weights_of(run_dir):
    return [w.numpy() for w in load_run_model(run_dir, weights="latest").weights]


def test_training_lowers_the_monitor_on_jsb(jsb_records, tmp_path):
    lines = []
    state = train(jsb_records, tmp_path / "run", TrainConfig(**{**TINY, "epochs": 4, "hidden": 64, "k": 5,
                                                                  "learning_rate": 3e-3}), log=lines.append)
    history = read_history(tmp_path / "run")
    seconds = json.loads((tmp_path / "run" / "train.json").read_text())["seconds"]
    assert seconds["compile"] > 0 and seconds["train"] > 0 and seconds["validate"] > 0
    assert history[0]["compile_seconds"] > max(row["compile_seconds"] for row in history[1:])  # shapes compile once
    assert abs(seconds["compile"] + seconds["train"] - sum(row["seconds"] for row in history)) < 0.5
    assert lines[-1].startswith("wall time ") and "compiling" in lines[-1] and "validating" in lines[-1]
    assert "history" not in json.loads((tmp_path / "run" / "state.json").read_text())  # one copy: history.csv
    assert len(history) == 4 and state["finished"] == "completed"
    assert history[-1]["monitor"] < history[0]["monitor"] - 0.3
    # the valid split's figures come with each validation NLL: here only the last epoch's
    assert [row["val_monitor"] != "" for row in history] == [row["val_nll"] != "" for row in history] == \
        [False, False, False, True]
    for name in ("model.json", "data.json", "train.json", "history.csv", "best.weights.h5"):
        assert (tmp_path / "run" / name).exists(), name
    assert json.loads((tmp_path / "run" / "data.json").read_text())["steps_per_quarter"] == 1
    import h5py

    with h5py.File(tmp_path / "run" / "best.weights.h5") as weights:  # the model's variables, not Adam's moments
        assert "optimizer" not in weights and "layers" in weights
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name.startswith(".")) == []  # no temporary left


@pytest.mark.parametrize("cell", ["rnn", pytest.param("gru", marks=pytest.mark.slow),
                                  pytest.param("lstm", marks=pytest.mark.slow)])  # the gated cells train in other tests too
def test_each_cell_trains(jsb_records, tmp_path, cell):
    state = train(jsb_records, tmp_path, TrainConfig(**{**TINY, "cell": cell, "epochs": 1}), log=lambda *_: None)
    assert state["step"] > 0 and np.isfinite(read_history(tmp_path)[0]["cost"])
    model = load_run_model(tmp_path)
    assert model.cell == cell and model.conditioner.recurrent.__class__.__name__.lower().startswith(
        {"rnn": "simplernn", "gru": "gru", "lstm": "lstm"}[cell])


def test_interrupted_run_resumes_to_the_uninterrupted_result(jsb_records, tmp_path):
    config = TrainConfig(**{**TINY, "cell": "gru", "checkpoint_every": 0})
    whole = train(jsb_records, tmp_path / "whole", config, log=lambda *_: None)
    partial = train(jsb_records, tmp_path / "parts", config, log=lambda *_: None, max_batches=13)  # mid-epoch
    assert partial["finished"] is None and 13 <= partial["step"] < whole["step"]
    resumed = train(jsb_records, tmp_path / "parts", config, log=lambda *_: None)
    assert resumed["step"] == json.loads((tmp_path / "whole" / "state.json").read_text())["step"]
    for a, b in zip(weights_of(tmp_path / "whole"), weights_of(tmp_path / "parts")):
        np.testing.assert_array_equal(a, b)
    # the epoch cut by the stop logs the running means of all its batches, not only of those after the resume
    resumed_history, whole_history = read_history(tmp_path / "parts"), read_history(tmp_path / "whole")
    assert [row["cost"] for row in resumed_history] == [row["cost"] for row in whole_history]
    assert [row["monitor"] for row in resumed_history] == [row["monitor"] for row in whole_history]
    done = train(jsb_records, tmp_path / "parts", config, log=lambda *_: None)
    assert done["finished"] == "completed" and done["step"] == resumed["step"]
    # a run whose checkpoints are gone cannot go on: refused, nothing overwritten
    shutil.rmtree(tmp_path / "parts" / "checkpoints")
    before = {path.name: path.read_bytes() for path in (tmp_path / "parts").iterdir() if path.is_file()}
    with pytest.raises(TrainingError, match="holds no checkpoint to go on from"):
        train(jsb_records, tmp_path / "parts", TrainConfig(**{**TINY, "cell": "gru", "checkpoint_every": 0,
                                                               "epochs": 3}), log=lambda *_: None)
    assert {path.name: path.read_bytes() for path in (tmp_path / "parts").iterdir() if path.is_file()} == before


@pytest.mark.slow  # a CLI process killed and rerun; in-process resumption is tested fast
def test_kill_minus_nine_then_the_same_command_resumes(jsb_records, tmp_path):
    args = [sys.executable, str(REPO / "cli.py"), "train", str(jsb_records), str(tmp_path / "run"), "--cell", "rnn",
            "--hidden", "24", "--recurrent", "16", "--k", "3", "--batch-size", "8", "--seq-len", "16", "--epochs", "3",
            "--image-every", "0", "--checkpoint-every", "3", "--patience", "0"]
    process = subprocess.Popen(args, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoints = tmp_path / "run" / "checkpoints"
    deadline = time.monotonic() + 120
    # a checkpoint counts once TensorFlow's state file names it (it is written after the data files)
    while time.monotonic() < deadline and not (checkpoints / "checkpoint").exists():
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert (checkpoints / "checkpoint").exists(), "no checkpoint before the kill"
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming from" in result.stdout and "(completed)" in result.stdout
    reference = train(jsb_records, tmp_path / "reference", TrainConfig(
        **{**TINY, "cell": "rnn", "epochs": 3, "checkpoint_every": 3}), log=lambda *_: None)
    state = json.loads((tmp_path / "run" / "state.json").read_text(), parse_constant=_not_json)
    assert state["step"] == reference["step"]
    for a, b in zip(weights_of(tmp_path / "run"), weights_of(tmp_path / "reference")):
        np.testing.assert_array_equal(a, b)


def test_bad_input_is_refused_clearly(jsb_records, tmp_path):
    with pytest.raises(TrainingError, match="not a records folder"):
        train(tmp_path, tmp_path / "run", TrainConfig(**TINY))
    with pytest.raises(TrainingError, match="no piece of 5000 frames"):
        train(jsb_records, tmp_path / "run", TrainConfig(**{**TINY, "seq_len": 5000, "batching": "windows",
                                                         "pad_windows": False}))
    train(jsb_records, tmp_path / "run", TrainConfig(**{**TINY, "epochs": 1}), log=lambda *_: None)
    with pytest.raises(TrainingError, match="holds a different run .*cell: 'gru' -> 'lstm'"):
        train(jsb_records, tmp_path / "run", TrainConfig(**{**TINY, "epochs": 1, "cell": "lstm"}))
    restarted = train(jsb_records, tmp_path / "run", TrainConfig(**{**TINY, "epochs": 1, "cell": "lstm"}),
                      restart=True, log=lambda *_: None)
    assert restarted["finished"] == "completed"
    with pytest.raises(TrainingError, match="cost became nan at step (\\d+)") as caught:
        train(jsb_records, tmp_path / "nan", TrainConfig(**{**TINY, "learning_rate": 1e38, "checkpoint_every": 1}),
              log=lambda *_: None)
    bad_step = int(re.search(r"step (\d+)", str(caught.value)).group(1))
    saved = sorted(int(p.name.split("-")[1].split(".")[0]) for p in (tmp_path / "nan" / "checkpoints").glob("*.index"))
    assert all(step < bad_step for step in saved)
    if saved:  # the last good checkpoint holds finite weights
        assert all(np.isfinite(w).all() for w in weights_of(tmp_path / "nan"))


@pytest.mark.slow  # a training of its own
def test_mixed_precision_keeps_the_rbm_in_float32(jsb_records, tmp_path):
    state = train(jsb_records, tmp_path, TrainConfig(**{**TINY, "epochs": 1, "mixed_precision": True}),
                  log=lambda *_: None)
    assert state["epoch"] == 1 and np.isfinite(read_history(tmp_path)[0]["cost"])
    model = load_run_model(tmp_path)
    assert model.conditioner.compute_dtype == "float16" and model.rbm.compute_dtype == "float32"
    bv, bh = model(np.zeros((1, 4, 88), np.float32))
    assert bv.dtype == tf.float32 and bh.dtype == tf.float32


def _not_json(name):
    raise ValueError(f"{name} is not JSON")


def test_state_json_is_strict_json_before_any_validation_figure(jsb_records, tmp_path):
    """The best figure starts at infinity; JSON has none, so state.json says null."""
    state = train(jsb_records, tmp_path, TrainConfig(hidden=8, recurrent=4, k=1, batch_size=16, seq_len=8, epochs=1,
                                                     image_every=0), log=lambda *_: None, max_batches=1)
    saved = json.loads((tmp_path / "state.json").read_text(), parse_constant=_not_json)
    assert state["best_validation"] == float("inf") and saved["best_validation"] is None


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_carrying_the_state_across_chunks_equals_one_long_window(cell):
    """Truncated backpropagation's forward pass: chunks with the state carried give the biases, and
    so the data's free energy in the cost, of the whole sequence run at once."""
    model = RnnRbm(hidden=12, recurrent=9, cell=cell, k=2, seed=4)
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(0, 0.3, weight.shape).astype(np.float32))
    frames = (rng.random((3, 30, 88)) < 0.08).astype(np.float32)
    whole_bv, whole_bh = model(frames)
    states = model.chunk_states(3, [tf.zeros([3, 9])] * model.conditioner.state_count, tf.constant(True))
    parts = []
    for start in (0, 7, 19):
        end = {0: 7, 7: 19, 19: 30}[start]
        bv, bh, states = model.conditioned(frames[:, start:end], states)
        parts.append((bv, bh))
    np.testing.assert_allclose(np.concatenate([p[0] for p in parts], 1), whole_bv.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.concatenate([p[1] for p in parts], 1), whole_bh.numpy(), atol=1e-5)
    v = frames.reshape(-1, 88)
    whole = model.rbm.free_energy(v, tf.reshape(whole_bv, [-1, 88]), tf.reshape(whole_bh, [-1, 12]))
    chunked = model.rbm.free_energy(v, np.concatenate([p[0] for p in parts], 1).reshape(-1, 88),
                                    np.concatenate([p[1] for p in parts], 1).reshape(-1, 12))
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-5, atol=1e-4)


def test_a_run_folder_older_than_a_setting_is_not_resumed_as_if_trained_with_it(jsb_records, tmp_path):
    from pianorbm.model.run_folder import data_description
    from pianorbm.model.train import run_differences
    from pianorbm.rolls.records import load_info

    (tmp_path / "run").mkdir()
    old = {k: v for k, v in TrainConfig().to_dict().items() if k not in ("batching", "dropout", "validation")}
    (tmp_path / "run" / "train.json").write_text(json.dumps(old))
    (tmp_path / "run" / "data.json").write_text(json.dumps(data_description(jsb_records, load_info(jsb_records))))
    differences = run_differences(jsb_records, tmp_path / "run", TrainConfig())
    assert sorted(differences) == ["batching: 'windows' -> 'pieces'", "dropout: 0.0 -> 0.3",
                                   "validation: 'quick' -> 'reverse'"]
    assert run_differences(jsb_records, tmp_path / "run", TrainConfig(batching="windows", dropout=0.0,
                                                                      validation="quick")) == []


def test_dropout_is_left_to_the_corpus_size_unless_set(jsb_records):
    """0.3 on a small corpus (JSB's 13,807 training frames), 0 on one of POP909's size (1.38 M)."""
    from pianorbm.model.train import with_corpus_defaults
    from pianorbm.rolls.records import load_info

    small = load_info(jsb_records)
    large = {**small, "splits": {**small["splits"], "train": {**small["splits"]["train"], "frames": 1_379_548,
                                                              "example_frames": 1_379_548}}}
    assert TrainConfig().dropout is None
    assert with_corpus_defaults(TrainConfig(), small).dropout == 0.3
    assert with_corpus_defaults(TrainConfig(), large).dropout == 0.0
    assert with_corpus_defaults(TrainConfig(dropout=0.1), large).dropout == 0.1


def test_every_validation_choice_has_an_estimator_and_the_default_reads_high():
    from dataclasses import fields

    from pianorbm.common.settings import METADATA_KEY
    from pianorbm.model.likelihood import VALIDATION_NLL

    field = next(f for f in fields(TrainConfig) if f.name == "validation")
    assert set(field.metadata[METADATA_KEY].choices) == set(VALIDATION_NLL)
    default = VALIDATION_NLL[TrainConfig().validation]
    assert default.reverse and default.spread  # the criterion that does not drift towards sharper models


def test_history_csv_reads_back_as_written_and_an_older_state_reads_under_the_present_names(tmp_path):
    history = [{"epoch": 1, "step": 21, "cost": -0.07275, "learning_rate": 0.0010000000474974513, "seconds": 55.0,
                "val_nll": ""}, {"epoch": 2, "step": 42, "cost": -1.0, "learning_rate": 1e-05, "seconds": 0.8,
                                 "val_nll": 10.92873}]
    write_history(tmp_path, history)
    assert read_history(tmp_path) == history
    assert [type(value) for value in read_history(tmp_path)[1].values()] == [int, int, float, float, float, float]
    (tmp_path / "state.json").write_text(json.dumps({"epoch": 2, "best_monitor": 10.9, "history": history}))
    assert read_state(tmp_path) == {"epoch": 2, "best_validation": 10.9}  # as pianorbm before 0.1 wrote it
