"""Generation speed at paper sizes (RBM hidden 150, recurrent 100, k=25). Run by hand:

    python benchmarks/sample_speed.py

Reports steady-state frames/s (output frames per second, all outputs together) for 1 and 64
outputs and each cell, after a first call that compiles the loop (its time is reported too), and
the FLOP rate beside this machine's matmul ceiling measured in the same run. Results go to
docs/sample-speed.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tensorflow as tf  # noqa: E402

from benchmarks_common import matmul_ceiling, write_report  # noqa: E402
from pianorbm.model.generate import generate_rolls  # noqa: E402
from pianorbm.model.rnn_rbm import RnnRbm  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
K, STEPS = 25, 256


def main() -> None:
    ceiling = matmul_ceiling(64)
    rows = []
    for cell in ("rnn", "gru", "lstm"):
        model = RnnRbm(hidden=150, recurrent=100, cell=cell)
        for outputs in (1, 64):
            started = time.perf_counter()
            generate_rolls(model, outputs, STEPS, k=K).numpy()
            first = time.perf_counter() - started
            best = 0.0
            for seed in range(3):
                started = time.perf_counter()
                generate_rolls(model, outputs, STEPS, k=K, seed=seed).numpy()
                best = max(best, outputs * STEPS / (time.perf_counter() - started))
            flops = best * K * 2 * 2 * 88 * 150 / 1e9
            rows.append((cell, outputs, first, best, flops))
    lines = [
        "# Sampling speed",
        "",
        f"Measured by `python benchmarks/sample_speed.py` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, CPU only, TensorFlow {tf.__version__}: RBM hidden 150, recurrent 100, k={K}, "
        f"{STEPS} frames per output. Matmul ceiling of 64-row RBM-shaped float32 products in the same run: "
        f"{ceiling:.0f} GFLOP/s.",
        "",
        "| cell | outputs | first call (compiles) | frames/s | RBM GFLOP/s | share of ceiling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for cell, outputs, first, best, flops in rows:
        lines.append(f"| {cell} | {outputs} | {first:.1f} s | {best:,.0f} | {flops:.1f} | {flops / ceiling:.0%} |")
    gru1 = next(r[3] for r in rows if r[:2] == ("gru", 1))
    gru64 = next(r[3] for r in rows if r[:2] == ("gru", 64))
    lines += [
        "",
        f"Goals (issue): one output at 10,000+ frames/s ({'met' if gru1 >= 10000 else 'not met'}: GRU {gru1:,.0f}), "
        f"64 outputs at 60,000+ frames/s ({'met' if gru64 >= 60000 else 'not met'}: GRU {gru64:,.0f}). The Theano "
        "tutorial's reference is about 220 frames per CPU-second (from the issue, not re-measured).",
        "",
        "The loop over time and the Gibbs chain inside it are one XLA computation; the Bernoulli noise",
        "comes from per-unit xorshift32 streams carried through the loop (see model/rbm.py).",
        "",
    ]
    write_report(lines, REPO / "docs" / "sample-speed.md")


if __name__ == "__main__":
    main()
