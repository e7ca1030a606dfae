"""Do the accuracy sampler's draws depend on where its chains start? Run by hand:

    python benchmarks/mixing_check.py RUN_DIR RECORDS_DIR [--frames N] [--chains C] [--split test]

Draws p(v_t | v_<t) for N frames of the split (chosen at random, fixed seed) with `pianorbm evaluate`'s
default sampler settings (but C chains per frame, to lower the Monte Carlo noise), from three starts: the previous true frame (what evaluate does), the
true frame itself, and silence; and, for comparison, with plain Gibbs chains of as many sweeps.
Each start uses other random numbers. Prints one row per sampler and start; the last line gives the
expected accuracy from each start of the default sampler, and the exit status is 1 when they differ
by more than 0.5 points. With --out, appends the rows to that Markdown file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from pianorbm.model.evaluate import draw_accuracy  # noqa: E402
from pianorbm.model.config import EvaluateConfig  # noqa: E402
from pianorbm.model.floors import previous_frames  # noqa: E402
from pianorbm.model.likelihood import CHUNK, frames_and_biases  # noqa: E402
from pianorbm.model.run_folder import load_run_model  # noqa: E402

TOLERANCE = 0.005  # half a point of accuracy


def chosen_frames(model, records: Path, split: str, count: int, seed: int = 0):
    """``count`` frames of the split at random, with their RBMs' biases and the frames before them."""
    frames, visible_bias, hidden_bias, lengths, _ = frames_and_biases(model, records, split)
    previous = previous_frames(frames, lengths)
    chosen = np.sort(np.random.default_rng(seed).choice(len(frames), min(count, len(frames)), replace=False))
    return frames[chosen], visible_bias[chosen], hidden_bias[chosen], previous[chosen]


def draw(model, frames, visible_bias, hidden_bias, start, config: EvaluateConfig, seed: int):
    """Per frame: the expected accuracy and the accuracy of the keys with p > 1/2, from ``start``."""
    parts = [draw_accuracy(model, frames[i:i + CHUNK], visible_bias[i:i + CHUNK], hidden_bias[i:i + CHUNK],
                           start[i:i + CHUNK], config, seed + i) for i in range(0, len(frames), CHUNK)]
    return np.concatenate([p["accuracy"] for p in parts]), np.concatenate([p["likely"] for p in parts])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("records", type=Path)
    parser.add_argument("--frames", type=int, default=4000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, help="a Markdown file the table is appended to")
    args = parser.parse_args()
    config = EvaluateConfig(accuracy_chains=args.chains)
    model = load_run_model(args.run)
    frames, visible_bias, hidden_bias, previous = chosen_frames(model, args.records, args.split, args.frames)
    starts = {"previous true frame": previous, "true frame": frames, "silence": np.zeros_like(frames)}
    samplers = {f"tempered, {config.accuracy_replicas} replicas": config,
                "gibbs": replace(config, accuracy_sampler="gibbs")}
    sweeps = config.accuracy_burn_in + config.accuracy_samples
    rows, default = [], []
    print(f"{args.run.name}: {len(frames)} {args.split} frames, {config.accuracy_chains} chains x "
          f"({config.accuracy_burn_in} + {config.accuracy_samples}) sweeps per frame", flush=True)
    for name, sampler_config in samplers.items():
        for seed, (start_name, start) in enumerate(starts.items()):
            began = time.monotonic()
            accuracy, likely = draw(model, frames, visible_bias, hidden_bias, start, sampler_config, 1000 * seed)
            rows.append((name, start_name, accuracy.mean(), likely.mean(), time.monotonic() - began))
            print(f"| {name} | {start_name} | {100 * accuracy.mean():.2f} % | {100 * likely.mean():.2f} % | "
                  f"{rows[-1][-1]:.0f} s |", flush=True)
            if sampler_config is config:
                default.append(accuracy)
    means = [a.mean() for a in default]
    spread = max(means) - min(means)
    # the Monte Carlo error of a difference between two starts, paired over the same frames
    noise = max(np.std(a - b, ddof=1) / np.sqrt(len(a)) for i, a in enumerate(default) for b in default[i + 1:])
    if args.out:
        with args.out.open("a") as out:
            out.write(f"\n`{args.run}`, {len(frames)} {args.split} frames, {config.accuracy_chains} chains x {sweeps} "
                      f"sweeps per frame; tempered spread {100 * spread:.2f} points, standard error of a difference "
                      f"{100 * noise:.2f}:\n\n"
                      "| sampler | chains start at | expected accuracy | keys with p > 1/2 | seconds |\n"
                      "|---|---|---:|---:|---:|\n"
                      + "".join(f"| {n} | {s} | {100 * a:.2f} % | {100 * k:.2f} % | {t:.0f} |\n"
                                for n, s, a, k, t in rows))
    print("expected accuracy from the previous true frame / the true frame / silence: "
          + " / ".join(f"{100 * a:.2f} %" for a in means)
          + f"; spread {100 * spread:.2f} points, standard error of a difference {100 * noise:.2f} "
          f"({'mixes' if spread <= TOLERANCE else 'DOES NOT MIX'}, limit {100 * TOLERANCE:.1f})")
    return 0 if spread <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
