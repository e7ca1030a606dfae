"""The paper's table, like for like: every cell on JSB Chorales and Nottingham with the default
recipe (no option beyond the folders), several seeds, then docs/results.md rewritten.

    python benchmarks/paper_table.py [--work /tmp/pianorbm-paper] [--datasets jsb,nottingham]
                                     [--cells rnn,gru,lstm] [--seeds 0,1]

Published splits, no augmentation, nothing tuned per dataset. Each run is a run folder under
--work; a rerun resumes an unfinished training and skips what is evaluated already, so the table
can be filled over several sittings. Rows not run yet are listed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402
from model.config import EvaluateConfig, TrainConfig  # noqa: E402
from model.evaluate import evaluate_run  # noqa: E402
from model.train import train  # noqa: E402
from pipelines.build_records import build_records  # noqa: E402
from pipelines.records_config import RecordsConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATASETS = {"jsb": "JSB Chorales", "nottingham": "Nottingham"}
# AIS for the test NLL: 500 temperatures (0.01 nats from 8,000 on JSB, docs/results.md); Nottingham's
# 44,000 test frames take 200 (minutes instead of a quarter of an hour per run).
EVALUATION = {"jsb": EvaluateConfig(ais_chains=16, ais_betas=500),
              "nottingham": EvaluateConfig(ais_chains=16, ais_betas=200)}
PUBLISHED_RNADE = {"jsb": 5.19, "nottingham": 2.31}


def run_one(work: Path, dataset: str, cell: str, seed: int, log) -> dict:
    records = work / f"{dataset}-records"
    build_records(records, RecordsConfig(),
                  pickle_path=REPO.parent / "shared" / "data" / "benchmarks" / f"{DATASETS[dataset]}.pickle")
    run = work / f"{dataset}-{cell}-seed{seed}"
    evaluation = run / "eval-test.json"
    state_path = run / "state.json"
    if evaluation.exists() and state_path.exists() and json.loads(state_path.read_text()).get("finished"):
        return {"state": json.loads(state_path.read_text()), "eval": json.loads(evaluation.read_text())}
    state = train(records, run, TrainConfig(cell=cell, seed=seed, image_every=0), log=log)
    result = evaluate_run(run, records, EVALUATION[dataset])
    return {"state": state, "eval": result}


def _ci(figure: dict, name: str, scale: float = 1.0, digits: int = 2) -> str:
    low, high = figure[f"{name}_ci95"]
    return f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def table(results: dict, datasets: list[str], cells: list[str], seeds: list[int]) -> list[str]:
    lines = ["| dataset | model | seeds | test NLL (mean) | seed spread | 95 % CI over pieces | expected accuracy | "
             "95 % CI | pooled accuracy (Bay) | epochs (best) | epoch time, summed |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for dataset in datasets:
        done = [(cell, [results[(dataset, cell, s)] for s in seeds if (dataset, cell, s) in results]) for cell in cells]
        first = next((runs[0]["eval"] for _, runs in done if runs), None)
        for cell, runs in done:
            if not runs:
                lines.append(f"| {DATASETS[dataset]} | {cell} | 0 | not run yet | | | | | | | |")
                continue
            evals = [r["eval"] for r in runs]
            nll = [e["nll"] for e in evals]
            minutes = _mean([sum(row["seconds"] for row in r["state"]["history"]) / 60 for r in runs])
            epochs = ", ".join(f"{r['state']['epoch']} ({r['state']['best_epoch']})" for r in runs)
            lines.append(
                f"| {DATASETS[dataset]} | {cell}-RBM | {len(runs)} | **{_mean(nll):.2f}** | "
                f"{max(nll) - min(nll):.2f} | {_ci(evals[0], 'nll')} | {100 * _mean([e['accuracy'] for e in evals]):.1f} % | "
                f"{_ci(evals[0], 'accuracy', 100, 1)} | {100 * _mean([e['accuracy_pooled'] for e in evals]):.1f} % | "
                f"{epochs} | {minutes:.1f} min |")
        if first is None:
            continue
        for name, label in (("previous_frame", "floor: previous frame (per-key Markov chain)"),
                            ("independent_keys", "floor: independent keys")):
            floor = first["floors"][name]
            lines.append(f"| {DATASETS[dataset]} | {label} | | {floor['nll']:.2f} | | {_ci(floor, 'nll')} | "
                         f"{100 * floor['accuracy']:.1f} % | {_ci(floor, 'accuracy', 100, 1)} | "
                         f"{100 * floor['accuracy_pooled']:.1f} % | | |")
        accuracy = first.get("published_accuracy", {}).get("RNN-RBM")
        lines.append(f"| {DATASETS[dataset]} | RNN-RBM, published | | {first['published']['RNN-RBM']:.2f} | | | "
                     f"{f'{100 * accuracy:.1f} %' if accuracy else ''} | | | | |")
        lines.append(f"| {DATASETS[dataset]} | RNN-NADE, published | | {PUBLISHED_RNADE[dataset]:.2f} | | | | | | | |")
    return lines


def position_table(results: dict, datasets: list[str], cells: list[str], seeds: list[int]) -> list[str]:
    lines = ["| dataset | model | NLL, frames 1-100 of each piece [95 % CI] | NLL, frames 101 on [95 % CI] | "
             "frames 1-100 / 101 on |", "|---|---|---:|---:|---:|"]
    for dataset in datasets:
        for cell in cells:
            for seed in seeds:
                run = results.get((dataset, cell, seed))
                if run is None:
                    continue
                parts = run["eval"]["nll_by_position"]
                early, late = parts["frames_1_100"], parts["frames_101_on"]
                late_text = f"{late['nll']:.2f} {_ci(late, 'nll')}" if late.get("frames") else "no such frames"
                lines.append(f"| {DATASETS[dataset]} | {cell}, seed {seed} | {early['nll']:.2f} {_ci(early, 'nll')} | "
                             f"{late_text} | {early['frames']:,} / {late.get('frames', 0):,} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/pianorbm-paper"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")
    parser.add_argument("--datasets", default="jsb,nottingham")
    parser.add_argument("--cells", default="rnn,gru,lstm")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--only-report", action="store_true", help="Rewrite the report from the finished runs.")
    args = parser.parse_args()
    datasets, cells = args.datasets.split(","), args.cells.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    order = [(d, c, s) for c in cells for d in datasets for s in seeds]
    for dataset, cell, seed in order:
        run = args.work / f"{dataset}-{cell}-seed{seed}"
        if args.only_report:
            if (run / "eval-test.json").exists():
                results[(dataset, cell, seed)] = {"state": json.loads((run / "state.json").read_text()),
                                                  "eval": json.loads((run / "eval-test.json").read_text())}
            continue
        started = time.monotonic()
        results[(dataset, cell, seed)] = run_one(args.work, dataset, cell, seed, log=lambda *_: None)
        figure = results[(dataset, cell, seed)]["eval"]
        print(f"{dataset} {cell} seed {seed}: NLL {figure['nll']:.3f} accuracy {figure['accuracy']:.3f} "
              f"({(time.monotonic() - started) / 60:.1f} min)", flush=True)
    defaults = TrainConfig()
    lines = [
        "# Results: the paper's table, like for like",
        "",
        f"Measured by `python benchmarks/paper_table.py` on {time.strftime('%Y-%m-%d')}, x86_64, 2 CPU cores, "
        "with the default recipe of `pianorbm train` (no option beyond the folders):",
        f"RBM {defaults.hidden} hidden, {defaults.recurrent} recurrent units, CD-{defaults.k}; whole pieces in batches "
        f"of about {defaults.batch_size} x {defaults.seq_len} frames, trained in chunks of {defaults.seq_len} frames "
        f"with the recurrent state carried across chunks; dropout {defaults.dropout:g} on the conditioner's input; "
        "Adam, learning rate "
        f"{defaults.learning_rate:g}, constant; the weights of the best validation NLL (AIS 8 x 100 on the first "
        f"2,500 valid frames, about every 50,000 training frames), stopping after {defaults.patience} validations "
        f"without improvement, at most {defaults.epochs} epochs. Published splits, no augmentation, nothing tuned per "
        "dataset. Runs here shared the 2 cores with another run, so the epoch times are about twice a quiet "
        "machine's (validation and compiling not included).",
        "",
        "Test NLL per time step: every frame of every test piece, the first predicted from the learned initial "
        "state, log Z by AIS (16 chains; 500 temperatures on JSB, 200 on Nottingham). Expected accuracy: for each "
        "time step, ACC = TP / (TP + FP + FN) averaged over samples of p(v_t | v_<t) (8 chains per frame started "
        "from the previous true frame, 50 burn-in steps, 25 samples each), then averaged over time steps (the "
        "benchmark's rule); pooled accuracy is Bay et al.'s sum TP / sum (TP + FP + FN). Intervals: 95 % "
        "bootstrap over test pieces (of the first seed). The floors are fitted on the train split only.",
        "",
        "**Read the NLLs with [ais-check.md](ais-check.md):** AIS underestimates log Z when the RBMs are sharp, "
        "and the trained Nottingham models are; there the printed test NLL is optimistic, and the validation NLL "
        "that picked the epoch was more so. How the recipe was chosen: [recipe.md](recipe.md).",
        "",
        *table(results, datasets, cells, seeds),
        "",
        "## Long pieces: NLL over the first 100 frames of each piece and over the rest",
        "",
        "The experiment this project starts from switched to an LSTM conditioner because long pieces defeated "
        "the plain RNN. Per run:",
        "",
        *position_table(results, datasets, cells, seeds),
        "",
        "## Commands",
        "",
        "```sh",
        *[f'pianorbm build-records --from-pickle "../shared/data/benchmarks/{DATASETS[d]}.pickle" {d}-records'
          for d in datasets],
        *[f"pianorbm train {d}-records {d}-{c}-seed{s} --cell {c} --seed {s}" for c in cells for d in datasets
          for s in seeds],
        *[f"pianorbm evaluate {d}-{c}-seed{s} --ais-betas {EVALUATION[d].ais_betas}" for c in cells for d in datasets
          for s in seeds],
        "```",
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
