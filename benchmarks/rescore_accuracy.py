"""Redraw the accuracies of finished evaluations with today's sampler, keeping their likelihoods.

    python benchmarks/rescore_accuracy.py RUN_DIR [RUN_DIR ...] [--split test]

The likelihood of a large split costs hours of AIS; the accuracies cost minutes. Each run's
``eval-<split>.json`` keeps its NLL figures and gets the accuracies of `pianorbm evaluate`'s default
sampler settings, checked to be on the same frames (model.evaluate.rescore_accuracy), with
``accuracy_evaluated_on`` dating them. Run `python benchmarks/paper_table.py --only-report` after it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pianorbm.model.config import EvaluateConfig  # noqa: E402
from pianorbm.model.evaluate import rescore_accuracy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    for run in args.runs:
        began = time.monotonic()
        result = rescore_accuracy(run, EvaluateConfig(split=args.split))
        print(f"{run.name}: expected accuracy {100 * result['accuracy']:.2f} % (Markov floor sampled "
              f"{100 * result['floors']['previous_frame']['accuracy_sampled']:.2f} %), keys with p > 1/2 "
              f"{100 * result['accuracy_likely_keys']:.2f} % (copy floor "
              f"{100 * result['floors']['previous_frame']['accuracy']:.2f} %), "
              f"{time.monotonic() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
