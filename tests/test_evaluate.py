import json

import numpy as np
import pytest

from model.ais import exact_log_partition, log_partition
from model.config import EvaluateConfig, TrainConfig
from model.evaluate import accuracy, evaluate_run, frame_counts
from model.run_folder import load_run_model
from model.train import train


@pytest.mark.parametrize("hidden", [3, 9, 16])
def test_ais_matches_the_exact_log_partition_function(hidden):
    rng = np.random.default_rng(hidden)
    weights = rng.normal(0, 0.4, (88, hidden)).astype(np.float32)
    bv = rng.normal(-2.5, 1.0, (8, 88)).astype(np.float32)
    bh = rng.normal(0, 1.0, (8, hidden)).astype(np.float32)
    exact = exact_log_partition(weights.astype(np.float64), bv.astype(np.float64), bh.astype(np.float64))
    estimate, error = log_partition(weights, bv, bh, chains=64, betas=1000, seed=1)
    assert np.all(np.abs(estimate - exact) < 0.03 + 4 * error), (estimate - exact, error)
    assert np.abs(estimate - exact).mean() < 0.05


def test_frame_accuracy_counts():
    truth = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0]])
    predicted = np.array([[1, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0]])
    assert frame_counts(predicted, truth) == (3, 1, 1)
    assert accuracy(3, 1, 1) == pytest.approx(0.6)


@pytest.fixture(scope="module")
def small_run(jsb_records, tmp_path_factory):
    run = tmp_path_factory.mktemp("eval") / "run"
    train(jsb_records, run, TrainConfig(hidden=24, recurrent=8, k=3, batch_size=16, seq_len=16, epochs=1,
                                        image_every=0), log=lambda *_: None)
    return run


def test_zero_weights_give_the_independent_bernoulli_likelihood(small_run, jsb_records, tmp_path):
    model = load_run_model(small_run)
    for layer in (model.rbm.W, model.to_visible_bias.kernel, model.to_hidden_bias.kernel):
        layer.assign(np.zeros(layer.shape, np.float32))
    info = json.loads((jsb_records / "dataset.json").read_text())
    frequencies = np.array(info["pitch_histogram"]) / info["splits"]["train"]["frames"]
    model.set_visible_bias_from_frequencies(frequencies)
    zero_run = tmp_path / "zero"
    zero_run.mkdir()
    for name in ("model.json", "data.json", "train.json"):
        (zero_run / name).write_text((small_run / name).read_text())
    model.save_weights(zero_run / "best.weights.h5")
    result = evaluate_run(zero_run, None, EvaluateConfig(split="valid", ais_chains=4, ais_betas=20))
    assert result["nll"] == pytest.approx(result["bernoulli_nll"], abs=2e-3)
    assert result["nll_standard_error"] < 1e-6  # with W = 0 every AIS weight is exact
    assert 10 < result["nll"] < 13  # the published independent baseline is about 11


def test_evaluation_is_reproducible_after_reload(small_run):
    config = EvaluateConfig(split="valid", ais_chains=4, ais_betas=50)
    first = evaluate_run(small_run, None, config)
    second = evaluate_run(small_run, None, config)
    for key in ("nll", "nll_standard_error", "accuracy", "frames", "bernoulli_nll"):
        assert first[key] == second[key], key
    assert first["frames"] == 4602 and first["benchmark"] == "jsb"
    assert (small_run / "eval-valid.json").exists()
    assert first["nll"] < first["bernoulli_nll"] + 1  # a trained model is not far worse than independent keys
