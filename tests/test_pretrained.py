"""The models that ship with pianorbm: listed, sampled with no training, and found in an installed
copy of the package outside the checkout."""

import json
import shutil
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from pianorbm.cli import main
from pianorbm.model.pretrained import PRETRAINED_DIR, pretrained_index

REPO = PRETRAINED_DIR.parents[1]


def test_every_listed_model_is_shipped_with_its_figures():
    index = pretrained_index()
    assert {"jsb-chorales", "nottingham", "pop909-piano"} <= set(index)
    for name, entry in index.items():
        path = PRETRAINED_DIR / entry["file"]
        assert path.is_file() and 50_000 < path.stat().st_size < 2_000_000, name  # a few hundred KB
        assert entry["data_statistics"]["pieces"] > 100 and "ais" in entry["test"]
    listing = CliRunner().invoke(main, ["sample", "--list-pretrained"])
    assert listing.exit_code == 0 and "pretrained:jsb-chorales" in listing.output
    nottingham = index["nottingham"]["test"]
    assert f"test NLL {nottingham['nll']:.2f} to {nottingham['nll_reverse']:.2f}" in listing.output
    unknown = CliRunner().invoke(main, ["sample", "pretrained:mozart", "out"])
    assert unknown.exit_code == 2 and "no pretrained model 'mozart'; known: jsb-chorales" in unknown.output


@pytest.mark.parametrize("name, folder, dataset, trained", [("jsb-chorales", "paper-runs", "jsb", 6),
                                                             ("nottingham", "paper-runs", "nottingham", 6),
                                                             ("pop909-piano", "pop909", "pop909", 1)])
def test_the_shipped_model_is_the_best_validated_run_with_its_own_figures(name, folder, dataset, trained):
    """index.json is tied to the committed runs: the run with the lowest validation NLL of its folder,
    its weights, and its test figures read from its evaluation file."""
    import numpy as np

    from pianorbm.model.run_folder import load_run_model, load_trained, read_state

    entry = pretrained_index()[name]
    runs = sorted(path for path in (REPO / "results" / folder).glob(f"{dataset}-*-seed*") if path.is_dir())
    assert len(runs) >= trained
    best = min(runs, key=lambda run: read_state(run)["best_validation"])
    assert REPO / entry["run"] == best
    assert entry["validation_nll"] == read_state(best)["best_validation"]
    evaluation = json.loads((best / "eval-test.json").read_text())
    for figure in ("nll", "nll_reverse", "accuracy", "accuracy_likely_keys"):
        assert entry["test"][figure] == evaluation[figure], figure
    assert entry["test"]["copy_floor"] == evaluation["floors"]["previous_frame"]["accuracy"]
    assert entry["test"].get("pieces", evaluation["sequences"]) == evaluation["sequences"]
    assert entry["test"]["nll"] < entry["test"]["nll_reverse"]  # the bracket: AIS reads low, reverse AIS high
    shipped, _ = load_trained(f"pretrained:{name}")
    run = load_run_model(best)
    for mine, theirs in zip(shipped.weights, run.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_a_pretrained_model_samples_with_no_training(tmp_path):
    import re
    import time

    started = time.monotonic()
    result = CliRunner().invoke(main, ["sample", "pretrained:jsb-chorales", str(tmp_path), "-n", "2", "--bars", "4",
                                       "--audio", "none"])
    wall = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert result.output.startswith("loading TensorFlow and the model")  # said before the long wait
    printed = float(re.search(r"\((\d+\.\d) s in all, (\d+\.\d) s of it generating", result.output).group(1))
    assert printed <= wall + 0.1 and printed >= 0.5 * wall  # the command's own time, not the generation's
    summary = json.loads((tmp_path / "samples.json").read_text())
    assert summary["run"] == "pretrained:jsb-chorales" and len(summary["outputs"]) == 2
    assert summary["statistics"]["data"]["pieces"] > 100  # compared with the data it shipped with
    within = summary["statistics"]["comparison"]["within_data_range"]
    assert f"data's middle 90 % of pieces: voices {round(2 * within['voices_mean'])}/2, clashes" in result.output


@pytest.mark.slow
def test_the_installed_package_carries_the_pretrained_models(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "demo",
                                                                "__pycache__", ".pytest_cache"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path / "wheel"), str(source)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("pianorbm-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "pianorbm/model/pretrained/index.json" in names and "pianorbm/model/pretrained/jsb-chorales.keras" in names
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    probe = ("import pianorbm, pianorbm.model.pretrained\n"
             "from pianorbm.model.run_folder import load_trained\n"
             "from pianorbm.model.generate import generate_rolls\n"
             "assert pianorbm.__file__.startswith(%r), pianorbm.__file__\n"
             "rnn_rbm, data = load_trained('pretrained:jsb-chorales')\n"
             "print('FRAMES', generate_rolls(rnn_rbm, 1, 16).shape, data['steps_per_quarter'])\n") % str(tmp_path / "site")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0 and "FRAMES (1, 16, 88) 1" in run.stdout, run.stderr[-2000:]
