"""Make the pretrained models that ship in model/pretrained/ from finished runs of paper_table.py.

    python benchmarks/make_pretrained.py [--work results/paper-runs]

For each dataset the run with the lowest *validation* NLL is exported (the test split chooses
nothing), with its test figures and its training data's statistics written to index.json.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]

from pianorbm.common.files import write_json_atomic  # noqa: E402
from pianorbm.model.export import export_run  # noqa: E402
from pianorbm.model.pretrained import PRETRAINED_DIR  # noqa: E402
from pianorbm.model.sample import data_rolls  # noqa: E402
from pianorbm.rolls.music_stats import set_statistics, shippable  # noqa: E402

NAMES = {"jsb": ("jsb-chorales", "Bach chorales, JSB Chorales benchmark (Boulanger-Lewandowski et al. 2012), "
                                 "quarter-note frames, pieces in C major / C minor"),
         "nottingham": ("nottingham", "folk tunes with chords, Nottingham benchmark, eighth-note frames"),
         "pop909": ("pop909-piano", "pop songs arranged for piano, POP909 songs 001-600 (Wang, Chen et al. 2020, MIT "
                                    "licence) curated with --piano-only and near-duplicates grouped, sixteenth-note "
                                    "frames, pieces in their own keys")}
FOLDERS = {"pop909": REPO / "results" / "pop909"}  # the others: --work
STATISTICS_QPM = 120


TEST_FIGURES = ("nll", "nll_ci95", "nll_reverse", "nll_reverse_ci95", "accuracy", "accuracy_ci95", "accuracy_pooled",
                "accuracy_likely_keys", "accuracy_likely_keys_ci95")


def test_figures(evaluation: dict) -> dict:
    """What index.json shows of a run's test evaluation: the NLL bracket (AIS reads low, reverse AIS
    high), both accuracies, the floors each is compared with, and how much of the split was scored."""
    floor = evaluation["floors"]["previous_frame"]
    settings = evaluation["settings"]
    return {**{name: evaluation[name] for name in TEST_FIGURES},
            "markov_floor_sampled": floor.get("accuracy_sampled"), "copy_floor": floor["accuracy"],
            "accuracy_sampler": settings.get("accuracy_sampler", "gibbs"),
            "ais": f"{settings['ais_chains']} x {settings['ais_betas']}",
            "pieces": evaluation["sequences"], "pieces_in_split": evaluation["sequences_in_split"],
            "frames": evaluation["frames"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "results" / "paper-runs")
    args = parser.parse_args()
    index = {}
    for dataset, (name, description) in NAMES.items():
        folder = FOLDERS.get(dataset, args.work)
        runs = [run for run in sorted(folder.glob(f"{dataset}-*-seed*"))
                if (run / "eval-test.json").exists() and (run / "state.json").exists()]
        if not runs:
            print(f"{dataset}: no evaluated run in {folder}")
            continue
        best = min(runs, key=lambda run: json.loads((run / "state.json").read_text())["best_validation"])
        state = json.loads((best / "state.json").read_text())
        evaluation = json.loads((best / "eval-test.json").read_text())
        settings = json.loads((best / "train.json").read_text())
        path = export_run(best, PRETRAINED_DIR / f"{name}.keras", with_records=False)
        data = json.loads((best / "data.json").read_text())
        grid = data["steps_per_quarter"]
        statistics = set_statistics(data_rolls(data, best), 60 / (STATISTICS_QPM * grid))
        index[name] = {
            "file": path.name, "description": description, "cell": settings["cell"], "seed": settings["seed"],
            "train": settings, "epochs": state["epoch"], "best_epoch": state["best_epoch"],
            "validation_nll": state["best_validation"],
            "run": os.path.relpath(best, REPO),
            "test": test_figures(evaluation),
            "data_statistics": shippable(statistics), "data_statistics_qpm": STATISTICS_QPM,
        }
        print(f"{name}: {best.name}, validation NLL {state['best_validation']:.3f}, test NLL {evaluation['nll']:.3f}-"
              f"{evaluation['nll_reverse']:.3f}, "
              f"{path.stat().st_size / 1024:.0f} KiB")
    write_json_atomic(PRETRAINED_DIR / "index.json", index)


if __name__ == "__main__":
    main()
