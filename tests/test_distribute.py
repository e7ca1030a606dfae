"""tf.distribute: a mirrored run on two logical CPU devices, and a two-worker cluster on this
machine, train batch for batch as one device does (the same global batch and seed), and a
mirrored run killed mid-epoch resumes to the same result."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from pianorbm.model.config import TrainConfig
from pianorbm.common.settings import SettingsError
from pianorbm.model.run_folder import read_history

REPO = Path(__file__).resolve().parents[1]
SMALL = dict(hidden=16, recurrent=8, k=5, epochs=2, validation_nll_every=0, image_every=0, patience=0, cell="gru",
             dropout=0.3)
FIGURES = ("cost", "monitor", "val_cost", "val_monitor")

pytestmark = pytest.mark.slow

_TRAIN = """
import sys
from pathlib import Path
from pianorbm.model.config import TrainConfig
from pianorbm.model.train import train
records, run, settings, stop = sys.argv[1], Path(sys.argv[2]), eval(sys.argv[3]), int(sys.argv[4])
config = TrainConfig(**settings)
if stop:
    train(records, run, config, log=lambda *_: None, max_batches=stop)
train(records, run, config, log=lambda *_: None)
"""


def _train(records: Path, run: Path, settings: dict, env: dict | None = None, stop: int = 0):
    """Trains in a fresh process: logical devices must be set before TensorFlow starts."""
    return subprocess.Popen([sys.executable, "-c", _TRAIN, str(records), str(run), repr(settings), str(stop)],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finished(*processes) -> None:
    for process in processes:
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output[-3000:]


def _weights(run: Path) -> dict[str, np.ndarray]:
    arrays = {}
    with h5py.File(run / "best.weights.h5") as handle:
        handle.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                          else None)
    return arrays


def _same_training(one: Path, other: Path) -> None:
    a, b = read_history(one), read_history(other)
    assert [row["step"] for row in a] == [row["step"] for row in b] and len(a) == SMALL["epochs"]
    for row_a, row_b in zip(a, b):
        for figure in FIGURES:
            assert float(row_a[figure]) == pytest.approx(float(row_b[figure]), abs=2e-4), (figure, row_a, row_b)
    weights_a, weights_b = _weights(one), _weights(other)
    assert sorted(weights_a) == sorted(weights_b) and len(weights_a) > 5
    for name in weights_a:
        np.testing.assert_allclose(weights_a[name], weights_b[name], atol=2e-5, err_msg=name)


@pytest.fixture(scope="module")
def one_device(jsb_records, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("one") / "run"
    _finished(_train(jsb_records, run, SMALL))
    return run


def test_mirrored_on_two_devices_killed_and_resumed_trains_as_one_device(jsb_records, one_device, tmp_path):
    run = tmp_path / "mirrored"
    _finished(_train(jsb_records, run, {**SMALL, "distribute": "mirrored"}, {"PIANORBM_LOGICAL_CPUS": "2"}, stop=13))
    _same_training(one_device, run)
    assert json.loads((run / "train.json").read_text())["distribute"] == "mirrored"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_a_two_worker_cluster_trains_as_one_device(jsb_records, one_device, tmp_path):
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    run = tmp_path / "cluster"
    workers = [_train(jsb_records, run, {**SMALL, "distribute": "multi-worker"},
                      {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})})
               for index in range(2)]
    _finished(*workers)
    _same_training(one_device, run)  # written once, by worker 0; worker 1 wrote to a scratch copy


def test_distribution_settings_that_cannot_work_are_refused(jsb_records, tmp_path):
    with pytest.raises(SettingsError, match="batching pieces"):
        TrainConfig(distribute="mirrored", batching="windows")
    with pytest.raises(SettingsError, match="pretrain"):
        TrainConfig(distribute="mirrored", pretrain_epochs=2)
    process = subprocess.run([sys.executable, "cli.py", "train", str(jsb_records), str(tmp_path / "run"),
                              "--distribute", "multi-worker"], cwd=REPO, capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "TF_CONFIG"})
    assert process.returncode == 1 and process.stderr.startswith("Error: --distribute multi-worker needs TF_CONFIG")


def test_a_worker_that_does_not_see_the_chiefs_checkpoint_refuses(jsb_records, tmp_path):
    from pianorbm.model.config import TrainConfig
    from pianorbm.model.train import train

    shared = tmp_path / "shared"
    train(jsb_records, shared, TrainConfig(**SMALL), log=lambda *_: None, max_batches=2)  # a checkpoint to go on from
    local = tmp_path / "local"  # worker 1 was given a folder of its own: it would start from step 0
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    workers = [_train(jsb_records, run, {**SMALL, "distribute": "multi-worker"},
                      {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})})
               for index, run in enumerate((shared, local))]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [1, 1], outputs
    assert f"multi-worker training needs {local} to be one folder that every worker shares" in outputs[1]
    assert f"needs {shared} to be one folder" in outputs[0] and "this one from step 2" in outputs[0]
    from pianorbm.model.run_folder import read_state

    assert read_state(shared)["step"] == 2  # the chief trained nothing further
