"""Generation speed at paper sizes (RBM hidden 150, recurrent 100), both samplers. Run by hand:

    python benchmarks/sample_speed.py

Reports steady-state frames/s (output frames per second, all outputs together) for 1 and 64
outputs, each cell and each sampler at its default sweeps per frame, after a first call that
compiles the loop (its time is reported too), and the RBM products' FLOP rate beside this
machine's ceiling for those products, measured in the same run over every row count XLA could use
(benchmarks_common.best_matmul_ceiling), so no share can honestly exceed 100 %. Results go to
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

from benchmarks_common import best_matmul_ceiling, write_report  # noqa: E402
from pianorbm.model.config import SAMPLERS, SWEEPS_PER_FRAME  # noqa: E402
from pianorbm.model.generate import REPLICAS, generate_rolls  # noqa: E402
from pianorbm.model.rnn_rbm import RnnRbm  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STEPS = 64


def replicas(sampler: str) -> int:
    return REPLICAS if sampler == "tempered" else 1


def main() -> None:
    ceiling, ceiling_rows = best_matmul_ceiling(64 * REPLICAS)
    rows = []
    for cell in ("rnn", "gru", "lstm"):
        model = RnnRbm(hidden=150, recurrent=100, cell=cell)
        for sampler in SAMPLERS:
            sweeps = SWEEPS_PER_FRAME[sampler]
            for outputs in (1, 64):
                started = time.perf_counter()
                generate_rolls(model, outputs, STEPS, sampler=sampler).numpy()
                first = time.perf_counter() - started
                best = 0.0
                for seed in range(2):
                    started = time.perf_counter()
                    generate_rolls(model, outputs, STEPS, seed=seed, sampler=sampler).numpy()
                    best = max(best, outputs * STEPS / (time.perf_counter() - started))
                flops = best * sweeps * replicas(sampler) * 2 * 2 * 88 * 150 / 1e9
                rows.append((cell, sampler, outputs, first, best, flops))
                print(rows[-1], flush=True)
    lines = [
        "# Sampling speed",
        "",
        f"Measured by `python benchmarks/sample_speed.py` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, CPU only, TensorFlow {tf.__version__}: RBM hidden 150, recurrent 100, {STEPS} frames "
        f"per output, each sampler at its default sweeps per frame (tempered: {SWEEPS_PER_FRAME['tempered']} sweeps of "
        f"{REPLICAS} replicas; gibbs: {SWEEPS_PER_FRAME['gibbs']} steps). Ceiling of the RBM's float32 products in the "
        f"same run, the best over row counts from the tempered sampler's own {64 * REPLICAS} to 8,192: "
        f"{ceiling:.0f} GFLOP/s (at {ceiling_rows} rows).",
        "",
        "| cell | sampler | outputs | first call (compiles) | frames/s | RBM GFLOP/s | share of ceiling |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for cell, sampler, outputs, first, best, flops in rows:
        lines.append(f"| {cell} | {sampler} | {outputs} | {first:.1f} s | {best:,.0f} | {flops:.1f} | "
                     f"{flops / ceiling:.0%} |")
    share = min(r[5] for r in rows if r[1] == SAMPLERS[0] and r[2] == 64) / ceiling
    lines += [
        "",
        f"Goal (issue 28): 64 outputs with the default sampler at >= 50 % of the ceiling: "
        f"{'met' if share >= 0.5 else 'not met'} (the lowest cell: {share:.0%}). The tempered sampler does "
        f"{SWEEPS_PER_FRAME['tempered'] * REPLICAS // SWEEPS_PER_FRAME['gibbs']} times the Gibbs sampler's products per "
        "frame, so its frames/s are that much lower at the same efficiency; its swaps (softplus of every hidden "
        "input at three temperatures) are not counted as useful work.",
        "",
        "The loop over time and the chain inside it are one XLA computation; the Bernoulli noise",
        "comes from per-unit xorshift32 streams carried through the loop (see model/rbm.py).",
        "",
    ]
    write_report(lines, REPO / "docs" / "sample-speed.md")


if __name__ == "__main__":
    main()
