"""Reproduce the paper's table on JSB Chorales and Nottingham: import, train, evaluate each cell.

    python benchmarks/paper_table.py [--work /tmp/pianorbm-paper]

Runs the same library functions as the commands listed in docs/results.md, one after the other,
and writes the figures there. Long: about half an hour on a 2-core CPU with the settings below.
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
DATASETS = {
    "JSB Chorales": {"train": dict(seq_len=24, batch_size=32, epochs=100, patience=10, pad_windows=False),
                     "evaluate": dict(ais_chains=16, ais_betas=500)},
    "Nottingham": {"train": dict(seq_len=100, batch_size=64, epochs=15, patience=5, pad_windows=False),
                   "evaluate": dict(ais_chains=16, ais_betas=200)},
}
CELLS = ("rnn", "gru", "lstm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/pianorbm-paper"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")
    args = parser.parse_args()
    rows, commands = [], []
    for name, settings in DATASETS.items():
        slug = name.split()[0].lower()
        pickle_path = REPO.parent / "shared" / "data" / "benchmarks" / f"{name}.pickle"
        records = args.work / f"{slug}-records"
        build_records(records, RecordsConfig(), pickle_path=pickle_path)
        commands.append(f'pianorbm build-records --from-pickle "../shared/data/benchmarks/{name}.pickle" {slug}-records')
        for cell in CELLS:
            run = args.work / f"{slug}-{cell}"
            config = TrainConfig(cell=cell, image_every=0, **settings["train"])
            started = time.monotonic()
            state = train(records, run, config, log=lambda *_: None)
            train_seconds = sum(row["seconds"] for row in state["history"]) or time.monotonic() - started
            result = evaluate_run(run, records, EvaluateConfig(**settings["evaluate"]))
            flags = " ".join((f"--{k.replace('_', '-')}" if v else f"--no-{k.replace('_', '-')}")
                             if isinstance(v, bool) else f"--{k.replace('_', '-')} {v}"
                             for k, v in settings["train"].items())
            commands.append(f"pianorbm train {slug}-records {slug}-{cell} --cell {cell} {flags}")
            eflags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in settings["evaluate"].items())
            commands.append(f"pianorbm evaluate {slug}-{cell} {eflags}")
            rows.append((name, cell, result, state, train_seconds))
            print(name, cell, round(result["nll"], 3), round(result["accuracy"], 3), flush=True)
            (args.work / "rows.json").write_text(json.dumps([(r[0], r[1], r[2], r[4]) for r in rows], indent=1))
    lines = [
        "# Results: toward the paper's table",
        "",
        f"Measured by `python benchmarks/paper_table.py` on {time.strftime('%Y-%m-%d')}, 2-core CPU. Test NLL per",
        "time step (AIS, mean over all frames of the split, first frame included) and frame accuracy",
        "(TP / (TP + FP + FN) of the thresholded expected frame). Paper sizes: RBM hidden 150, recurrent",
        "100, CD-15, Adam 1e-3 decayed 0.98 per epoch, best epoch by validation monitor.",
        "",
        "| dataset | cell | test NLL | std. error | accuracy | epochs (best) | training time | published RNN-RBM | published RNN-NADE |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, cell, result, state, seconds in rows:
        published = result["published"]
        lines.append(f"| {name} | {cell} | {result['nll']:.2f} | {result['nll_standard_error']:.4f} | "
                     f"{100 * result['accuracy']:.1f} % | {state['epoch']} ({state['best_epoch']}) | {seconds / 60:.1f} min | "
                     f"{published.get('RNN-RBM', '')} | {published.get('RNN-NADE', '')} |")
    bernoulli = {name: result["bernoulli_nll"] for name, _, result, _, _ in rows}
    lines += ["", "Independent-Bernoulli baseline on the same test splits (key frequencies of train): "
              + ", ".join(f"{k} {v:.2f}" for k, v in bernoulli.items()) + " (published: about 11).", "",
              "## Commands", "", "```sh", *commands, "```", ""]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
