"""benchmarks/gpu_check.sh: refuses to write figures without a GPU; its measuring code runs (rehearsed on the CPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="a GPU is here: the script would measure it")
def test_without_a_gpu_the_check_says_so_and_writes_nothing(tmp_path):
    before = (REPO / "docs" / "gpu.md").read_bytes()
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True,
                            env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "no GPU visible" in result.stdout
    assert (REPO / "docs" / "gpu.md").read_bytes() == before


def test_the_measurements_run_when_rehearsed_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.md"
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--rehearse", "--cells", "rnn",
                             "--seconds", "0.2", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    report = out.read_text()
    assert "REHEARSAL on the CPU" in report
    row = next(line for line in report.splitlines() if line.startswith("| rnn | /job"))
    assert "device:CPU:0" in row and float(row.split("|")[5].replace(",", "")) > 0
    assert sum(line.startswith("| rnn | ") for line in report.splitlines()) == 3  # training and two sampling rows
