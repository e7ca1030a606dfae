"""model/weight_average.py, and training with --weight-average-frames."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from pianorbm.model.config import TrainConfig
from pianorbm.model.run_folder import load_run_model, read_history
from pianorbm.model.train import train
from pianorbm.model.weight_average import WeightAverage

TINY = dict(hidden=24, recurrent=16, k=3, batch_size=8, seq_len=16, epochs=2, image_every=0, patience=0,
            checkpoint_every=0, validation="quick", validation_nll_every=1, weight_average_frames=300)


def test_the_average_trails_the_weights_by_frames_and_swaps_in_and_out_exactly():
    rng = np.random.default_rng(0)
    variables = [tf.Variable(rng.normal(size=(3, 2)).astype(np.float32)), tf.Variable(np.float32(rng.normal()))]
    average = WeightAverage(variables, frames=100)
    average.reset()
    expected = [v.numpy().copy() for v in variables]
    seen = 0
    for frames in (50, 130, 900, 7):  # time constants 5 and 18 (a tenth of the frames seen), then 100
        for v in variables:
            v.assign_add(rng.normal(size=v.shape).astype(np.float32))
        average.update(frames)
        seen += frames
        keep = math.exp(-frames / min(100, seen / 10))
        expected = [keep * e + (1 - keep) * v.numpy() for e, v in zip(expected, variables)]
    for a, e in zip(average.averages, expected):
        np.testing.assert_allclose(a.numpy(), e, rtol=1e-6, atol=1e-7)  # float32 arithmetic
    raw = [v.numpy().copy() for v in variables]
    with average.swapped_in():
        for v, e in zip(variables, expected):
            np.testing.assert_allclose(v.numpy(), e, rtol=1e-6, atol=1e-7)
    for v, r in zip(variables, raw):
        np.testing.assert_array_equal(v.numpy(), r)


def _weights(run_dir, which):
    return [w.numpy() for w in load_run_model(run_dir, weights=which).weights]


@pytest.mark.slow  # three trainings
def test_the_best_weights_are_the_average_and_a_cut_run_resumes_to_the_same_average(jsb_records, tmp_path):
    config = TrainConfig(**TINY)
    whole = train(jsb_records, tmp_path / "whole", config, log=lambda *_: None)
    assert whole["best_epoch"] >= 1
    best, latest = _weights(tmp_path / "whole", "best"), _weights(tmp_path / "whole", "latest")
    assert any(not np.allclose(b, l) for b, l in zip(best, latest))  # the average, not the raw weights
    partial = train(jsb_records, tmp_path / "parts", config, log=lambda *_: None, max_batches=13)  # mid-epoch
    assert partial["finished"] is None
    resumed = train(jsb_records, tmp_path / "parts", config, log=lambda *_: None)
    assert resumed["step"] == whole["step"]
    assert [row["val_nll"] for row in read_history(tmp_path / "parts")] == \
        [row["val_nll"] for row in read_history(tmp_path / "whole")]
    for a, b in zip(best, _weights(tmp_path / "parts", "best")):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(latest, _weights(tmp_path / "parts", "latest")):
        np.testing.assert_array_equal(a, b)
    # without the average the same seed validates other weights
    plain = train(jsb_records, tmp_path / "plain", TrainConfig(**{**TINY, "weight_average_frames": 0}),
                  log=lambda *_: None)
    assert plain["finished"] == whole["finished"]
    assert [row["val_nll"] for row in read_history(tmp_path / "plain")] != \
        [row["val_nll"] for row in read_history(tmp_path / "whole")]
    for a, b in zip(latest, _weights(tmp_path / "plain", "latest")):
        np.testing.assert_array_equal(a, b)  # the average never feeds back into training
    assert json.loads((tmp_path / "whole" / "train.json").read_text())["weight_average_frames"] == 300
