"""What does validating cost against training, and how noisy are cheaper validation NLLs? Run by hand:

    python benchmarks/validation_cost.py RUN_DIR RECORDS_DIR [--other RUN_DIR] [--seeds 3] [--out docs/validation-cost.md]

With the run's best weights, in one process and one run (so the ratios hold on a noisy machine):
1. training: seconds per training frame, the median epoch of the run's own history;
2. the validation pass (validation cost and monitor over the valid split);
3. the validation NLL by reverse AIS on several frame and temperature counts, each with --seeds seeds: its
   mean, its spread over seeds (the estimator's own noise) and its seconds; with --other, the same
   for a second run, so that each setting's reading of the difference between the two models can be
   compared with the default's;
4. a sample picture's generation (every --image-every epochs).
Prints one table and, from the records' training frames and the default schedule, the share of a
run's wall time each setting would spend validating.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

from pianorbm.model.config import TrainConfig  # noqa: E402
from pianorbm.model.likelihood import VALIDATION_NLL, validation_nll  # noqa: E402
from pianorbm.model.run_folder import load_run_model, read_history  # noqa: E402
from pianorbm.rolls.records import load_info  # noqa: E402

SETTINGS = ((500, 16_000), (250, 16_000), (125, 16_000), (500, 4_000), (500, 1_000))  # (frames, temperatures)


def seconds_per_training_frame(run: Path) -> float:
    """From the run's own history: the median epoch after the first (which compiles)."""
    rows = read_history(run)[1:]
    return 1 / float(np.median([row["frames_per_s"] for row in rows]))


def validation_pass(model, records: Path):
    from pianorbm.model.train import PieceTrainer, make_optimizer

    model.compile(optimizer=make_optimizer(TrainConfig()))
    return PieceTrainer(model, records, TrainConfig(), has_valid=True)


def timed(call):
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


def nll_rows(run: Path, records: Path, seeds: int) -> dict[tuple[int, int], tuple[float, float, float]]:
    """{(frames, temperatures): (mean NLL, spread over seeds, seconds per estimate)} for one run's best weights."""
    model = load_run_model(run)
    rows = {}
    default = VALIDATION_NLL["reverse"]
    for frames, betas in SETTINGS:
        estimator = replace(default, frames=frames, betas=betas)
        validation_nll(model, records, estimator)  # compiles for this shape
        values, took = [], []
        for seed in range(seeds):
            value, seconds = timed(lambda: validation_nll(model, records, estimator, seed=seed))
            values.append(value)
            took.append(seconds)
        rows[(frames, betas)] = (float(np.mean(values)), float(np.std(values, ddof=1)) if seeds > 1 else float("nan"),
                                 float(np.median(took)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("records", type=Path)
    parser.add_argument("--other", type=Path, help="A second run on the same records.")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    info = load_info(args.records)
    train_frames = info["splits"]["train"]["example_frames"] or info["splits"]["train"]["frames"]
    per_frame = seconds_per_training_frame(args.run)
    trainer = validation_pass(load_run_model(args.run), args.records)
    trainer.validation()
    _, pass_seconds = timed(trainer.validation)
    from pianorbm.model.generate import generate_rolls

    model = load_run_model(args.run)
    generate_rolls(model, 1, 128, k=model.k, seed=0)
    _, image_seconds = timed(lambda: generate_rolls(model, 1, 128, k=model.k, seed=1))
    rows = nll_rows(args.run, args.records, args.seeds)
    other = nll_rows(args.other, args.records, args.seeds) if args.other else None

    epoch_seconds = train_frames * per_frame
    every = max(1, round(VALIDATION_NLL["reverse"].train_frames_between / train_frames))
    image_every = TrainConfig().image_every
    lines = [f"Run {args.run.name}, records {args.records.name}: {train_frames:,} training frames per epoch; "
             f"{1 / per_frame:,.0f} training frames/s (the median epoch of the run's history), so "
             f"{epoch_seconds:.0f} s of training per epoch; the default schedule validates every {every} epochs.",
             f"Validation pass (cost and monitor over the valid split, at most 50,000 frames): {pass_seconds:.1f} s; "
             f"a sample picture (every {image_every} epochs): {image_seconds:.1f} s.", "",
             "The share of wall time: the pass and the NLL once per validation (every {every} epochs), beside "
             "training; compiling aside.".replace("{every}", str(every)), "",
             "| frames | reverse AIS temperatures | NLL (mean of seeds) | spread over seeds (SD) | seconds | "
             + ("minus the other run's | " if other else "") + "validating, share of wall time |",
             "|---:|---:|---:|---:|---:|" + ("---:|" if other else "") + "---:|"]
    for (frames, betas), (mean, spread, seconds) in rows.items():
        per_cycle_train = every * epoch_seconds
        validating = seconds + pass_seconds + every * image_seconds / image_every
        difference = f" {mean - other[(frames, betas)][0]:+.4f} |" if other else ""
        lines.append(f"| {frames} | {betas:,} | {mean:.4f} | {spread:.4f} | {seconds:.1f} |{difference} "
                     f"{100 * validating / (per_cycle_train + validating):.0f} % |")
    if args.out:
        write_report([f"# Validation cost: {args.run.name} ({time.strftime('%Y-%m-%d')})", "", *lines], args.out)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
