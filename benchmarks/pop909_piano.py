"""The shipped piano model, pretrained:pop909-piano: what its run cost, its test figures beside the
floors, and its samples beside its data. Run by hand after make_pretrained.py:

    python benchmarks/pop909_piano.py [--run results/pop909/pop909-gru-seed0] [--seeds 0 1]

Reads the run (train.json, history.csv, eval-test.json, its records' dataset.json) and samples 16
pieces of 256 frames per seed from ``pretrained:pop909-piano`` as ``pianorbm sample`` does (tempered
sampler, no audio), then writes docs/pop909-piano.md. Sampling resumes: a seed whose samples.json
exists is read, not redrawn.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

from pianorbm.pipelines.report import STATISTICS_ROWS  # noqa: E402  the report's labels and scales

REPO = Path(__file__).resolve().parents[1]
NAME = "pop909-piano"
SAMPLES, SAMPLE_STEPS = 16, 256
INTERRUPTED = 2.0  # an epoch whose training took this many times the median was interrupted (a restart or a pause)
SHOWN = ("voices_mean", "clash_rate", "notes_per_second", "voices_above_usual", "key_fit", "silent_rate")
FEATURES = [(key, label, scale) for shown in SHOWN for key, label, _, scale in STATISTICS_ROWS if key == shown]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _epochs(numbers: list[str]) -> str:
    return f"epoch{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}" if numbers else "no epoch"


def _bracket(figures: dict, name: str, scale: float = 1.0, digits: int = 3) -> str:
    value, interval = figures[name], figures.get(f"{name}_ci95")
    text = f"{scale * value:.{digits}f}"
    return text + (f" [{scale * interval[0]:.{digits}f}, {scale * interval[1]:.{digits}f}]" if interval else "")


def cost_lines(run: Path, train_frames: int) -> list[str]:
    """Where the run's wall time went, from train.json and the history, with interrupted epochs named."""
    from pianorbm.model.likelihood import VALIDATION_NLL

    seconds = json.loads((run / "train.json").read_text())["seconds"]
    history = list(csv.DictReader((run / "history.csv").open()))
    training = [float(row["seconds"]) - float(row["compile_seconds"]) for row in history]
    usual = statistics.median(training)
    interrupted = [(row["epoch"], t) for row, t in zip(history, training) if t > INTERRUPTED * usual]
    recompiled = [row["epoch"] for row in history[1:] if float(row["compile_seconds"]) > 0]
    total = sum(seconds.values())
    first_compile = float(history[0]["compile_seconds"])
    steady = first_compile + usual * len(history) + seconds["validate"]
    lines = [f"Wall time {_minutes(total)} on this 2-core machine: compiling {_minutes(seconds['compile'])} "
             f"({100 * seconds['compile'] / total:.0f} %), training {_minutes(seconds['train'])} "
             f"({100 * seconds['train'] / total:.0f} %), validating {_minutes(seconds['validate'])} "
             f"({100 * seconds['validate'] / total:.1f} %) (train.json `seconds`).", ""]
    if recompiled or interrupted:
        lines += [f"The run was not left alone: {_epochs(recompiled)} compiled again after a restart, and "
                  f"{_epochs([e for e, _ in interrupted])} took more than "
                  f"{INTERRUPTED:g} times the median epoch's training ({usual:.0f} s; a pause or a restart). An "
                  f"uninterrupted run, with the first compile, the median epoch and the same validations, would "
                  f"take about {_minutes(steady)}, {100 * seconds['validate'] / steady:.1f} % of it validating.", ""]
    validated = [float(r["validate_seconds"]) for r in history if r.get("val_nll")]
    lines += [f"Validations: {len(validated)} in {len(history)} epochs (the default validates about every "
              f"{VALIDATION_NLL['reverse'].train_frames_between:,} training frames: every epoch of "
              f"{train_frames:,}), {VALIDATION_NLL['reverse'].describe()}; median {statistics.median(validated):.1f} s "
              "each, with the valid split's cost and monitor. The run shared the 2 cores with other work for part "
              "of its time.", ""]
    return lines


def test_lines(evaluation: dict) -> list[str]:
    floors = evaluation["floors"]
    lines = [f"Test split: the first {evaluation['sequences']} of its {evaluation['sequences_in_split']} pieces by name "
             f"({evaluation['frames']:,} frames; `--pieces {evaluation['sequences']}`, as the full split takes hours "
             f"here), evaluated in {_minutes(evaluation['seconds'])}; AIS "
             f"{evaluation['settings']['ais_chains']} x {evaluation['settings']['ais_betas']}. Intervals: 95 % "
             "bootstrap over pieces" + (f", the versions of one song drawn together ({evaluation['resampled_groups']} "
                                        "songs)" if "resampled_groups" in evaluation else "") + ".", "",
             "| | NLL per frame | expected accuracy (%) | keys with p > 1/2 (%) |", "|---|---|---|---|",
             f"| model, AIS (reads low) | {_bracket(evaluation, 'nll')} | {_bracket(evaluation, 'accuracy', 100, 1)} | "
             f"{_bracket(evaluation, 'accuracy_likely_keys', 100, 1)} |",
             f"| model, reverse AIS (reads high) | {_bracket(evaluation, 'nll_reverse')} | | |",
             f"| floor: independent keys | {_bracket(floors['independent_keys'], 'nll')} | "
             f"{_bracket(floors['independent_keys'], 'accuracy', 100, 1)} | |",
             f"| floor: copy the previous frame (per-key Markov) | {_bracket(floors['previous_frame'], 'nll')} | "
             f"{_bracket(floors['previous_frame'], 'accuracy_sampled', 100, 1)} (sampled) | "
             f"{_bracket(floors['previous_frame'], 'accuracy', 100, 1)} |", "",
             f"Model minus floor, paired over pieces: expected accuracy "
             f"{_bracket(evaluation['over_markov_floor'], 'accuracy', 100, 1)} points over the sampled Markov floor; "
             f"keys with p > 1/2 {_bracket(evaluation['over_copy_floor'], 'accuracy_likely_keys', 100, 1)} points over "
             f"copying the previous frame.", ""]
    return lines


def sample_lines(seeds: list[int], work: Path) -> list[str]:
    from pianorbm.model.config import SampleConfig
    from pianorbm.model.sample import sample_run

    summaries = {}
    for seed in seeds:
        out = work / f"seed{seed}"
        if not (out / "samples.json").exists():
            sample_run(f"pretrained:{NAME}", out, SampleConfig(num_outputs=SAMPLES, steps=SAMPLE_STEPS, seed=seed,
                                                               audio="none"), overwrite=True)
        summaries[seed] = json.loads((out / "samples.json").read_text())
    data = summaries[seeds[0]]["statistics"]["data"]
    ranges = summaries[seeds[0]]["statistics"]["comparison"]["data_range"]
    settings = summaries[seeds[0]]["settings"]
    lines = [f"`pianorbm sample pretrained:{NAME} OUT -n {SAMPLES} --steps {SAMPLE_STEPS} --seed S` "
             f"({settings['sampler']} sampler, {settings['k']} sweeps per frame, {settings['mode']} mode), per seed "
             f"beside the statistics shipped with the model ({data['pieces']} training pieces), both timed at 120 "
             "quarter notes per minute. \"Within\": samples "
             "whose value lies between the 5 % and 95 % quantiles of the data's pieces.", "",
             "| statistic | data: mean | data: middle 90 % of pieces | "
             + " | ".join(f"seed {s}: mean | seed {s}: within" for s in seeds) + " |",
             "|---|---:|---|" + "---:|---:|" * len(seeds)]
    for key, label, scale in FEATURES:
        span = ranges.get(key)
        cells = [f"{scale * data[key]:.2f}", f"{scale * span[0]:.2f} to {scale * span[1]:.2f}" if span else ""]
        for seed in seeds:
            comparison = summaries[seed]["statistics"]["comparison"]
            within = comparison["within_data_range"].get(key)
            cells += [f"{scale * summaries[seed]['statistics']['samples'][key]:.2f}",
                      "" if within is None else f"{round(within * SAMPLES)}/{SAMPLES}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    counted = {key: sum(round(summaries[seed]["statistics"]["comparison"]["within_data_range"].get(key, 0) * SAMPLES)
                        for seed in seeds) for key in ("voices_mean", "clash_rate")}
    total = SAMPLES * len(seeds)
    dense = all(summaries[seed]["statistics"]["samples"]["voices_mean"] > ranges["voices_mean"][1] for seed in seeds)
    lines += ["", f"Over both seeds, {counted['voices_mean']}/{total} samples lie within the data's range on voices and "
              f"{counted['clash_rate']}/{total} on clashes"
              + (": the samples sound more keys at once than the data's busiest pieces, so the goal of samples within "
                 "the data's range on voices and clashes is not reached." if dense else ".")]
    lines += ["", "Pitch-class distance from the data (total variation, 0 = same): "
              + ", ".join(f"seed {s} {summaries[s]['statistics']['comparison']['pitch_class_distance']:.3f}"
                          for s in seeds) + ".", ""]
    return lines


def dropout_lines(earlier: Path, run: Path, earlier_samples: Path, seeds: list[int]) -> list[str]:
    """The run of the earlier default (dropout 0.3 on every corpus) beside this one: validation, the
    paired test difference on the same pieces, and its samples' density."""
    from pianorbm.model.compare import compare_runs, comparison_table

    states = {name: json.loads((folder / "state.json").read_text()) for name, folder in (("earlier", earlier),
                                                                                          ("today", run))}
    dropouts = {name: json.loads((folder / "train.json").read_text())["dropout"] for name, folder in
                (("earlier", earlier), ("today", run))}
    lines = ["## Dropout: the earlier default against the corpus default", "",
             f"Until 2026-12-05 every corpus trained with dropout {dropouts['earlier']:g} on the frames entering the "
             f"conditioner; now it is 0 from 500,000 training frames (docs/recipe.md). The earlier run "
             f"(`{earlier.relative_to(REPO)}`, same records, seed and settings but dropout {dropouts['earlier']:g}) "
             f"stopped at epoch {states['earlier']['epoch']} with validation NLL "
             f"{states['earlier']['best_validation']:.3f} (epoch {states['earlier']['best_epoch']}); this one at epoch "
             f"{states['today']['epoch']} with {states['today']['best_validation']:.3f} "
             f"(epoch {states['today']['best_epoch']}).", ""]
    if (earlier / "eval-test-frames.npz").exists():
        lines += ["```", comparison_table(compare_runs(run, earlier), f"dropout {dropouts['today']:g}",
                                          f"dropout {dropouts['earlier']:g}"), "```", ""]
    rows = []
    for seed in seeds:
        summary = earlier_samples / f"seed{seed}" / "samples.json"
        if summary.exists():
            stats = json.loads(summary.read_text())["statistics"]
            within = stats["comparison"]["within_data_range"]
            rows.append(f"| dropout {dropouts['earlier']:g}, seed {seed} | {stats['samples']['voices_mean']:.2f} | "
                        f"{100 * stats['samples']['clash_rate']:.1f} | {round(within['voices_mean'] * SAMPLES)}/"
                        f"{SAMPLES} | {round(within['clash_rate'] * SAMPLES)}/{SAMPLES} |")
    if rows:
        lines += [f"Its samples (the same command, from `{earlier_samples.relative_to(REPO)}`), against the table "
                  "above:", "", "| samples | voices | clashes (%) | voices within | clashes within |",
                  "|---|---:|---:|---:|---:|", *rows, "",
                  "Why they were so dense: docs/free-running-drift.md.", ""]
    return lines


def stuck_pedal_lines(earlier: Path, run: Path) -> list[str]:
    """The first run, trained before the stuck-pedal rule: its data's statistics beside today's, and
    its own figures (on other rolls: its NLL is not comparable with the table above)."""
    from pianorbm.model.sample import data_rolls
    from pianorbm.rolls.music_stats import data_range, set_statistics

    sets = {}
    for name, folder in (("stuck pedals applied", earlier), ("stuck pedals ignored (today)", run)):
        data = json.loads((folder / "data.json").read_text())
        rolls = data_rolls(data, folder)
        if not rolls:
            return []
        sets[name] = set_statistics(rolls, 60 / (120 * data["steps_per_quarter"]))
    lines = ["## The stuck pedal", "",
             f"The first run (`{earlier.relative_to(REPO)}`) was trained before `build-records` ignored pedal "
             "presses held past 64 beats. Its training data, beside today's (the first 500 training pieces of each "
             "records folder; middle 90 % of pieces in brackets):", "",
             "| rolls | voices | sounding frames with a semitone clash (%) | notes per second |", "|---|---|---|---|"]
    for name, stats in sets.items():
        cells = []
        for key, scale in (("voices_mean", 1), ("clash_rate", 100), ("notes_per_second", 1)):
            low, high = data_range(stats["_per_piece"][key])
            cells.append(f"{scale * stats[key]:.2f} [{scale * low:.2f}, {scale * high:.2f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    evaluation = json.loads((earlier / "eval-test.json").read_text())
    state = json.loads((earlier / "state.json").read_text())
    lines += ["", f"That run stopped at epoch {state['epoch']} (best {state['best_epoch']}, validation NLL "
              f"{state['best_validation']:.3f}); on the same 30 test pieces rolled its way, NLL "
              f"{evaluation['nll']:.3f} to {evaluation['nll_reverse']:.3f}, keys with p > 1/2 "
              f"{100 * evaluation['accuracy_likely_keys']:.1f} % against copying the previous frame's "
              f"{100 * evaluation['floors']['previous_frame']['accuracy']:.1f} %.", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=REPO / "results" / "pop909" / "pop909-gru-seed0")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--work", type=Path, default=REPO / "results" / "pop909" / "samples")
    parser.add_argument("--earlier", type=Path, default=REPO / "results" / "pop909" / "stuck-pedal" / "pop909-gru-seed0")
    parser.add_argument("--dropout-earlier", type=Path,
                        default=REPO / "results" / "pop909" / "dropout0.3" / "pop909-gru-seed0")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "pop909-piano.md")
    args = parser.parse_args()

    from pianorbm.model.pretrained import pretrained_index

    entry = pretrained_index()[NAME]
    run = args.run.resolve()
    if REPO / entry["run"] != run:
        raise SystemExit(f"pretrained:{NAME} was made from {entry['run']}, not {run}: run make_pretrained.py first")
    state = json.loads((run / "state.json").read_text())
    data = json.loads((run / "data.json").read_text())
    info = json.loads(((run / data["records"]).resolve() / "dataset.json").read_text())
    splits = info["splits"]
    lines = [f"# pretrained:{NAME}: the shipped piano model", "",
             f"Measured by `python benchmarks/pop909_piano.py` ({time.strftime('%Y-%m-%d')}), from "
             f"`{entry['run']}`: the default recipe (`pianorbm train RECORDS RUN`, {entry['cell']}, seed "
             f"{entry['seed']}, dropout {json.loads((run / 'train.json').read_text())['dropout']:g} as the default "
             "gives a corpus of this size) on POP909 songs 001-600 curated with `--piano-only` and near-duplicates grouped "
             f"({info['source']['files']:,} files, {info['source'].get('near_duplicate_groups', 0)} groups), "
             f"{splits['train']['pieces']:,} / {splits['valid']['pieces']:,} / {splits['test']['pieces']:,} pieces, "
             f"{splits['train']['frames']:,} training frames at {info['steps_per_quarter']} steps per quarter. One "
             "seed was trained: the index's \"best validation NLL\" is a choice of one.", "",
             f"Stopped at epoch {state['epoch']} ({state['finished'].replace('_', ' ')}); best validation NLL "
             f"{state['best_validation']:.4f} at epoch {state['best_epoch']}.", "", "## Cost", ""]
    lines += cost_lines(run, splits['train']['frames'])
    lines += ["## Test figures", ""] + test_lines(json.loads((run / "eval-test.json").read_text()))
    lines += ["## Samples beside the data", ""] + sample_lines(args.seeds, args.work)
    if (args.dropout_earlier / "state.json").exists():
        lines += dropout_lines(args.dropout_earlier.resolve(), run, args.dropout_earlier.resolve().parent / "samples",
                               args.seeds)
    if (args.earlier / "eval-test.json").exists():
        lines += stuck_pedal_lines(args.earlier.resolve(), run)
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
