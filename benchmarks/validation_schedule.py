"""Does the present validation schedule select what the earlier one did? Run by hand:

    python benchmarks/validation_schedule.py OLD_RUN EVERY_EPOCH_RUN [--noise 0.0187] [--out docs/validation-schedule.md]

OLD_RUN was trained with the earlier schedule (reverse AIS on 500 validation frames about every
400,000 training frames, patience 10). EVERY_EPOCH_RUN is the same training (same records, cell and
seed) with the present estimator measured after every epoch (``--validation-nll-every 1 --patience
0``, the present --validation-frames). Validation never changes training (it scores the averaged
weights with its own fixed seed; the two histories' training columns are checked to be equal), so:
- the earlier selection is OLD_RUN's own (replayed from its history, checked against its state.json);
- the present one is replayed from EVERY_EPOCH_RUN's history: its estimator on the epochs the
  present default schedule validates, stopping after the present default patience;
- the present selection is then scored by the earlier estimator, read from OLD_RUN's history at that
  epoch, and compared with the earlier selection's figure. The noise to hold the difference against
  is the earlier estimator's own: the spread of one model's figure over AIS seeds (--noise,
  docs/validation-cost.md).
Where the time goes under each schedule comes from the histories' seconds (training per epoch, and
EVERY_EPOCH_RUN's validation seconds per validation).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

from pianorbm.model.config import TrainConfig  # noqa: E402
from pianorbm.model.likelihood import VALIDATION_NLL  # noqa: E402
from pianorbm.model.run_folder import read_history  # noqa: E402
from pianorbm.model.train import validation_interval  # noqa: E402
from pianorbm.rolls.records import load_info  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TRAINING_COLUMNS = ("step", "cost", "monitor")


def replay(validated: list[tuple[int, float]], patience: int) -> dict:
    """Where a schedule validating at these (epoch, NLL) points stops, and what it keeps."""
    best, best_epoch, stale, stop = math.inf, 0, 0, None
    for epoch, nll in validated:
        if nll < best:
            best, best_epoch, stale = nll, epoch, 0
        else:
            stale += 1
            if patience and stale >= patience:
                stop = epoch
                break
    return {"stop": stop, "best_epoch": best_epoch, "best": best, "last": validated[-1][0] if validated else 0}


def stop_text(result: dict) -> str:
    return str(result["stop"]) if result["stop"] is not None else f"after {result['last']} (the history ends first)"


def measured(history: list[dict], column: str) -> list[tuple[int, float]]:
    return [(int(row["epoch"]), float(row[column])) for row in history if isinstance(row.get(column), (int, float))]


def rescored(old_run: Path, new_run: Path, old_epoch: int, new_epoch: int, seeds: int, info: dict) -> list[str]:
    """Both selections' weights (each run's best.weights.h5) scored by the earlier estimator with
    fresh AIS seeds: a selection's own reading is the lowest of many noisy ones (it was chosen for being
    low), fresh seeds are not."""
    from dataclasses import replace

    from pianorbm.model.likelihood import validation_nll
    from pianorbm.model.run_folder import load_run_model

    earlier = replace(VALIDATION_NLL["reverse"], frames=500)
    records = (new_run / json.loads((new_run / "data.json").read_text())["records"]).resolve()
    values = {}
    for name, run in (("earlier", old_run), ("present", new_run)):
        model = load_run_model(run)
        values[name] = np.array([validation_nll(model, records, earlier, seed=1000 + seed) for seed in range(seeds)])
    difference = values["present"] - values["earlier"]  # paired: the same seeds, the same frames
    error = difference.std(ddof=1) / np.sqrt(seeds)
    return [f"Scored again by the earlier estimator with {seeds} fresh AIS seeds (the same for both; the weights "
            "are each run's best.weights.h5):",
            "", "| selection | epoch | mean NLL | SD over seeds |", "|---|---:|---:|---:|",
            f"| earlier | {old_epoch} | {values['earlier'].mean():.4f} | {values['earlier'].std(ddof=1):.4f} |",
            f"| present | {new_epoch} | {values['present'].mean():.4f} | {values['present'].std(ddof=1):.4f} |", "",
            f"Present minus earlier, paired over seeds: {difference.mean():+.4f} (standard error {error:.4f})."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old_run", type=Path)
    parser.add_argument("every_epoch_run", type=Path)
    parser.add_argument("--noise", type=float, default=0.0187, help="SD of the earlier estimator over AIS seeds.")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "validation-schedule.md")
    parser.add_argument("--rescore-seeds", type=int, default=6,
                        help="Fresh AIS seeds to score both selections' weights with (0: none).")
    args = parser.parse_args()

    old, new = read_history(args.old_run), read_history(args.every_epoch_run)
    shared = min(len(old), len(new))
    same = all(old[i][c] == new[i][c] for i in range(shared) for c in TRAINING_COLUMNS)
    if not same:
        raise SystemExit("the two runs did not train alike: this comparison needs the same training")
    old_state = json.loads((args.old_run / "state.json").read_text())
    old_patience = json.loads((args.old_run / "train.json").read_text()).get("patience", 10)
    earlier = replay(measured(old, "val_nll"), old_patience)
    if earlier["best_epoch"] != old_state.get("best_epoch"):
        print(f"note: the replay's best epoch {earlier['best_epoch']} is not the run's {old_state.get('best_epoch')}")

    data = json.loads((args.every_epoch_run / "data.json").read_text())
    info = load_info((args.every_epoch_run / data["records"]).resolve())
    defaults = TrainConfig()
    every = validation_interval(defaults, info)
    present_points = [(e, v) for e, v in measured(new, "val_nll") if e % every == 0]
    present = replay(present_points, defaults.patience)
    old_figure = dict(measured(old, "val_nll"))
    scored = old_figure.get(present["best_epoch"])

    def seconds(history, column, epochs):
        return [float(row[column]) for row in history if int(row["epoch"]) in epochs
                and isinstance(row.get(column), (int, float))]

    train_per_epoch = float(np.median([float(r["seconds"]) for r in new[1:]]))
    validation_seconds = float(np.median(seconds(new, "validate_seconds", set(range(2, len(new) + 1)))))
    train_frames = info["splits"]["train"].get("example_frames") or info["splits"]["train"]["frames"]
    earlier_every = max(1, round(400_000 / train_frames))  # the earlier schedule's rule

    present_estimator = VALIDATION_NLL[defaults.validation]
    lines = ["# Validation schedule: the earlier one against the present default, on one training", "",
             f"Measured by `python benchmarks/validation_schedule.py {args.old_run.name} "
             f"{args.every_epoch_run.name}` on {time.strftime('%Y-%m-%d')}. The two runs trained alike "
             f"(step, cost and monitor equal at each of {shared} shared epochs), so each schedule's choice is "
             "read from the histories as it would have been made.", "",
             "| schedule | estimator | validates every | patience | stops at epoch | best epoch | its NLL by the "
             "earlier estimator |", "|---|---|---:|---:|---:|---:|---:|",
             f"| earlier (the run's own) | reverse AIS, 2 x 16,000, 500 frames | {earlier_every} epochs | "
             f"{old_patience} | {stop_text(earlier)} | {earlier['best_epoch']} | {earlier['best']:.4f} |",
             f"| present default | {present_estimator.describe()} | {every} epochs | {defaults.patience} | "
             f"{stop_text(present)} | {present['best_epoch']} | "
             + (f"{scored:.4f}" if scored is not None else "not measured at that epoch") + " |", ""]
    if scored is not None:
        gap = scored - earlier["best"]
        lines.append(f"Read from the histories, the present selection is {gap:+.4f} nats per frame above the earlier "
                     f"one by the earlier estimator, whose own spread over AIS seeds is {args.noise:.4f} "
                     f"(docs/validation-cost.md): {abs(gap) / args.noise:.1f} of it. But the earlier figure is the "
                     f"lowest of {len(measured(old, 'val_nll'))} readings, each with that noise, picked for being low; "
                     "the fair comparison scores both selections again with seeds neither schedule saw (below).")
    new_state = json.loads((args.every_epoch_run / "state.json").read_text())
    if args.rescore_seeds and new_state.get("best_epoch") == present["best_epoch"]:
        lines += ["", *rescored(args.old_run, args.every_epoch_run, earlier["best_epoch"], present["best_epoch"],
                                args.rescore_seeds, info)]
    share = validation_seconds / (every * train_per_epoch + validation_seconds)
    lines += ["", f"Time: training {train_per_epoch:.1f} s per epoch (median of {args.every_epoch_run.name}); one "
                  f"present validation (valid-split pass, NLL, best weights, logs) {validation_seconds:.1f} s (median); "
                  f"so the present default spends {100 * share:.0f} % of its wall time validating (compiling aside), "
                  f"and stops at epoch {stop_text(present)}; the earlier schedule at {stop_text(earlier)}."]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
