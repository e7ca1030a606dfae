"""Which sampler should `pianorbm sample` use by default? Run by hand:

    python benchmarks/sampler_choice.py RUN_DIR [RUN_DIR ...] [--out docs/sampling.md]

For each run, 16 outputs of 256 frames (seed 0, every other setting at its default) from each
sampler, their music statistics (rolls/music_stats.py) beside those of the run's *validation*
split, and one distance: the mean over the per-piece features of one minus the overlap of the two
distributions (0: the same distributions). The default is the sampler of the smaller distance on
most runs; the test split plays no part.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from pianorbm.model.config import SAMPLERS, SWEEPS_PER_FRAME  # noqa: E402
from pianorbm.model.generate import generate_rolls  # noqa: E402
from pianorbm.model.run_folder import load_run_model, records_of  # noqa: E402
from pianorbm.rolls.music_stats import compare, set_statistics  # noqa: E402
from pianorbm.rolls.pianoroll import cells_to_roll  # noqa: E402
from pianorbm.rolls.records import read_split  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUTPUTS, STEPS, QPM = 16, 256, 120


def figures(rolls: list[np.ndarray], seconds_per_frame: float, usual: int | None = None) -> dict:
    statistics = set_statistics(rolls, seconds_per_frame, usual)
    voices = np.concatenate([roll.sum(1) for roll in rolls])
    sounding = voices[voices > 0]
    statistics["more_than_4_voices"] = float((sounding > 4).mean()) if len(sounding) else 0.0
    return statistics


def row(label: str, statistics: dict, distance: str = "", seconds: str = "") -> str:
    return (f"| {label} | {statistics['voices_mean']:.2f} | {100 * statistics['more_than_4_voices']:.1f} % | "
            f"{100 * statistics['clash_rate']:.1f} % | {statistics['key_fit']:.3f} | "
            f"{statistics['notes_per_second']:.2f} | {distance} | {seconds} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "sampling.md")
    args = parser.parse_args()
    lines = []
    for run in args.runs:
        grid = json.loads((run / "data.json").read_text())["steps_per_quarter"]
        seconds_per_frame = 60 / (QPM * grid)
        model = load_run_model(run)
        valid = [cells_to_roll(e["cells"], e["num_frames"]) for e in read_split(records_of(run), "valid")
                 if e["transpose"] == 0]
        data = figures(valid, seconds_per_frame)
        lines += [f"`{os.path.relpath(run, REPO)}`, {OUTPUTS} outputs x {STEPS} frames, seed 0:", "",
                  "| sampler (sweeps per frame) | mean voices | sounding frames with more than 4 voices | "
                  "with a semitone clash | key fit | notes per second | distance to the validation data | "
                  "seconds |", "|---|---:|---:|---:|---:|---:|---:|---:|",
                  row(f"validation split ({len(valid)} pieces)", data)]
        for sampler in SAMPLERS:
            began = time.monotonic()
            rolls = generate_rolls(model, OUTPUTS, STEPS, seed=0, sampler=sampler).numpy().astype(bool)
            seconds = time.monotonic() - began
            statistics = figures(list(rolls), seconds_per_frame, data["usual_max_voices"])
            overlaps = [value for value in compare(statistics, data)["overlap"].values() if value is not None]
            distance = float(np.mean([1 - value for value in overlaps]))
            lines.append(row(f"{sampler} ({SWEEPS_PER_FRAME[sampler]})", statistics, f"{distance:.3f}",
                             f"{seconds:.0f}"))
            print(lines[-1], flush=True)
        lines.append("")
    text = args.out.read_text() if args.out.exists() else ""
    marker = "<!-- measured -->\n"
    head = text.split(marker)[0] if marker in text else text
    args.out.write_text(head + marker + f"Measured on {time.strftime('%Y-%m-%d')}:\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
