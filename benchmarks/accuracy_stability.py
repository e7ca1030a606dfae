"""Is the expected accuracy estimated from chains that have mixed? The same run's test accuracy
with few and with many chains, burn-in steps and samples per frame. Run by hand:

    python benchmarks/accuracy_stability.py RUN_DIR [--split test]

Writes docs/accuracy-stability.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from benchmarks_common import write_report  # noqa: E402
from pianorbm.model.accuracy import expected_accuracy, pooled_accuracy  # noqa: E402
from pianorbm.model.config import EvaluateConfig  # noqa: E402
from pianorbm.model.floors import previous_frames  # noqa: E402
from pianorbm.model.likelihood import CHUNK, frames_and_biases  # noqa: E402
from pianorbm.model.run_folder import load_run_model, records_of  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SETTINGS = [(2, 10, 5), (4, 25, 10), (8, 50, 25), (16, 100, 50), (16, 400, 100)]  # chains, burn-in, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "accuracy-stability.md")
    args = parser.parse_args()
    model = load_run_model(args.run)
    frames, bv, bh, lengths, _ = frames_and_biases(model, records_of(args.run), args.split)
    previous = previous_frames(frames, lengths)
    default = EvaluateConfig()
    rows = []
    for chains, burn_in, samples in SETTINGS:
        started = time.monotonic()
        accuracy, counts = [], []
        for start in range(0, len(frames), CHUNK):
            part = slice(start, start + CHUNK)
            a, c, _ = expected_accuracy(model.rbm.W, bv[part], bh[part], previous[part], frames[part], chains=chains,
                                     burn_in=burn_in, samples=samples, seed=start)
            accuracy.append(a)
            counts.append(c)
        accuracy, counts = np.concatenate(accuracy), np.concatenate(counts)
        rows.append((chains, burn_in, samples, accuracy.mean(), pooled_accuracy(*counts.sum(0)),
                     time.monotonic() - started))
        print(rows[-1], flush=True)
    lines = [
        "# Expected accuracy: do the chains mix?",
        "",
        f"Measured by `python benchmarks/accuracy_stability.py {args.run}` on {time.strftime('%Y-%m-%d')}: the "
        f"{args.split} split ({len(frames):,} frames) of one trained run, the expected accuracy (per time step) and "
        "Bay's pooled accuracy with more and more chains, burn-in steps and samples per frame. Chains start from the "
        "previous true frame. The default of `pianorbm evaluate` is "
        f"{default.accuracy_chains} chains x ({default.accuracy_burn_in} burn-in + {default.accuracy_samples} samples).",
        "",
        "| chains | burn-in steps | samples per chain | expected accuracy | pooled accuracy | seconds |",
        "|---:|---:|---:|---:|---:|---:|",
        *[f"| {c} | {b} | {s} | {100 * a:.2f} % | {100 * p:.2f} % | {t:.0f} |" for c, b, s, a, p, t in rows],
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
