"""What would a sparser validation schedule have selected? Run by hand:

    python benchmarks/validation_schedule.py [RUN_DIR ...] [--every 2] [--patience 5] [--out docs/validation-schedule.md]

Validation never changes training (it scores the averaged weights with its own fixed seed), so a run's
history.csv holds, epoch for epoch, what any schedule that validates on a subset of its validated
epochs would have seen. For each run (default: every run under results/paper-runs) this replays the
run's own schedule (every validation, its patience) and a sparser one (every --every-th validation,
--patience), and prints for both: the epoch training stops, the best epoch and its validation NLL,
and how far the sparser one's selection is from the run's own. The noise to hold it against is the
estimator's own: the spread of one model's validation NLL over AIS seeds (docs/validation-cost.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

from pianorbm.model.run_folder import read_history  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def replay(validated: list[tuple[int, float]], every: int, patience: int) -> dict:
    """(epoch, NLL) of each validation -> where the schedule that keeps every ``every``-th stops and what it keeps."""
    kept = validated[every - 1::every]
    best, best_epoch, stale, stop = math.inf, 0, 0, kept[-1][0] if kept else 0
    for epoch, nll in kept:
        if nll < best:
            best, best_epoch, stale = nll, epoch, 0
        else:
            stale += 1
            if stale >= patience:
                stop = epoch
                break
    return {"stop": stop, "best_epoch": best_epoch, "best": best, "validations": sum(e <= stop for e, _ in kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "validation-schedule.md")
    args = parser.parse_args()
    runs = args.runs or sorted(p for p in (REPO / "results" / "paper-runs").iterdir() if (p / "history.csv").exists())

    lines = ["# Validation schedule: the runs' own against a sparser one", "",
             f"Replayed by `python benchmarks/validation_schedule.py --every {args.every} --patience {args.patience}` "
             f"on {time.strftime('%Y-%m-%d')} from each run's history.csv (validation does not change training, so "
             "the replay is what the sparser schedule would have seen).", "",
             "| run | own: validations, stop, best epoch, best NLL | sparser: validations, stop, best epoch, best NLL "
             "| sparser minus own | epochs saved |", "|---|---|---|---:|---:|"]
    worst = 0.0
    for run in runs:
        history = read_history(run)
        validated = [(int(row["epoch"]), float(row["val_nll"])) for row in history
                     if isinstance(row.get("val_nll"), (int, float))]
        if not validated:
            continue
        state = json.loads((run / "state.json").read_text())
        own_patience = json.loads((run / "train.json").read_text()).get("patience", 10)
        own = replay(validated, 1, own_patience)
        sparse = replay(validated, args.every, args.patience)
        if own["best_epoch"] != state.get("best_epoch"):
            print(f"{run.name}: the replay's best epoch {own['best_epoch']} is not the run's {state.get('best_epoch')}")
        worst = max(worst, sparse["best"] - own["best"])
        lines.append(f"| {run.name} | {own['validations']}, {own['stop']}, {own['best_epoch']}, {own['best']:.4f} | "
                     f"{sparse['validations']}, {sparse['stop']}, {sparse['best_epoch']}, {sparse['best']:.4f} | "
                     f"{sparse['best'] - own['best']:+.4f} | {own['stop'] - sparse['stop']} |")
    lines += ["", f"Largest loss of the sparser schedule: {worst:+.4f} nats per frame."]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
