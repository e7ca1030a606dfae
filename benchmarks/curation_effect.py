"""Does curating a mixed corpus to piano-only pieces make a better piano model? Run by hand:

    python benchmarks/curation_effect.py [--work results/curation-effect] [--seeds 0 1] [--stage all]

The question this project starts from, measured: a web corpus of mixed instrumentation gave sparse
or chaotic music until it was curated to piano-only pieces.

Inputs, nothing downloaded:
- piano: ../shared/data/pop909 (600 pop songs arranged for piano, with their versions);
- non-piano: works of music21's bundled corpus exported with their own instruments
  (``pianorbm corpus music21 QUERY --parts original``): chorales, string quartets, madrigals, masses,
  folk tunes (NON_PIANO below), so that the non-piano training frames at least equal the piano ones,
  as in a web corpus.

Arms (the same raw folder, the default recipe everywhere else):
- raw: ``curate`` without --piano-only (every pitched part of every file kept);
- curated: ``curate --piano-only``.
Both are scored on the same test pieces: POP909's test split, built from POP909 alone with the same
near-duplicate groups and split keys, so no test song (nor a version of it) is in either training
set (checked). Each arm is trained with --seeds; each run is evaluated (`pianorbm evaluate`: the
test NLL bracket by AIS and reverse AIS, the accuracies beside their floors, 95 % intervals over
pieces) and sampled (16 pieces of 256 steps) beside the statistics of the piano test pieces.

Every stage resumes: rerun the same command and finished work is skipped (the training runs go on
from their checkpoints). ``--stage data`` stops after the records (and prints the frames of each
kind); ``--stage train`` after training; ``--stage all`` also evaluates, samples and writes
docs/curation-effect.md. ``--stage evaluate`` trains nothing: it evaluates and samples the runs that
have finished (while another process trains the rest) and writes the page, marked partial.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

from pianorbm.common.files import write_text_atomic  # noqa: E402
from pianorbm.curate.config import CurateConfig  # noqa: E402
from pianorbm.curate.curation import curate_folder  # noqa: E402
from pianorbm.curate.music21_corpus import export_corpus  # noqa: E402
from pianorbm.rolls.build_records import build_records  # noqa: E402
from pianorbm.rolls.records_config import RecordsConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
POP909 = REPO.parent / "shared" / "data" / "pop909"
NON_PIANO = ("bach/chorales", "beethoven/opus18*", "haydn", "mozart", "monteverdi", "palestrina",
             "essenFolksong", "oneills1850")
ARMS = {"raw": CurateConfig(), "curated": CurateConfig(piano_only=True)}
SAMPLES, SAMPLE_STEPS = 16, 256
EVALUATED_PIECES = 30  # the first 30 test pieces by name, as for pretrained:pop909-piano: the full split is hours per run


def prepare_raw(work: Path) -> Path:
    """work/raw: POP909 (copied) and the music21 works exported with their own instruments."""
    raw = work / "raw"
    if not (raw / "pop909").is_dir():
        partial = raw / ".pop909-copying"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(POP909, partial)
        partial.rename(raw / "pop909")
    for query in NON_PIANO:
        folder = raw / "music21" / query.replace("/", "-").replace("*", "")
        result = export_corpus(query, folder, mode="original")
        failed = sum(row["status"] == "failed" for row in result.works)
        print(f"music21 {query}: {len(result.works)} works, {failed} failed", flush=True)
    return raw


def prepare_records(work: Path, raw: Path) -> dict[str, Path]:
    """Curates and builds both arms and the piano test records; returns {name: records folder}."""
    records = {}
    for arm, config in ARMS.items():
        curate_folder(raw, work / f"clean-{arm}", config)
        records[arm] = work / f"{arm}-records"
        build_records(records[arm], RecordsConfig(), clean_dir=work / f"clean-{arm}")
    curate_folder(raw / "pop909", work / "clean-piano", ARMS["curated"])  # POP909 alone: the test pieces
    records["piano"] = work / "piano-records"
    build_records(records["piano"], RecordsConfig(), clean_dir=work / "clean-piano")
    return records


def check_no_test_song_in_training(records: dict[str, Path]) -> dict:
    """No arm's train split holds a POP909 song of the evaluated test pieces; returns the counts, and
    the songs of the whole test split that do leak (near-duplicates the default grouping misses)."""
    from pianorbm.rolls.records import first_pieces, load_info

    piano = load_info(records["piano"])
    evaluated = first_pieces(piano, "test", EVALUATED_PIECES)
    tested = {piece.split("/")[0] for piece in evaluated}
    all_tested = {p["piece"].split("/")[0] for p in piano["pieces"] if p["split"] == "test"}
    counts = {"piano_test_songs": len(tested), "piano_test_pieces": len(evaluated),
              "piano_test_split_pieces": piano["splits"]["test"]["pieces"], "piano_test_split_songs": len(all_tested)}
    for arm in ARMS:
        info = load_info(records[arm])
        trained = {p["piece"].split("/")[1] for p in info["pieces"]
                   if p["split"] == "train" and p["piece"].startswith("pop909/")}
        leaked = sorted(tested & trained)
        if leaked:
            raise SystemExit(f"{arm}: {len(leaked)} evaluated piano test songs are in its train split ({leaked[:5]})")
        counts[f"{arm}_split_songs_also_in_train"] = sorted(all_tested & trained)
        frames = {"piano": 0, "other": 0}
        for piece in info["pieces"]:
            if piece["split"] == "train":
                frames["piano" if piece["piece"].startswith("pop909/") else "other"] += piece["frames"]
        counts[arm] = frames
    return counts


def run_folders(work: Path, seeds) -> dict[tuple[str, int], Path]:
    """{(arm, seed): run folder} in training order: seed by seed, so that a stopped session leaves
    whole pairs of arms, the cheaper (curated) arm first."""
    return {(arm, seed): work / f"run-{arm}-seed{seed}" for seed in seeds for arm in ("curated", "raw")}


def train_arms(work: Path, records: dict[str, Path], seeds) -> dict[tuple[str, int], Path]:
    from pianorbm.model.config import TrainConfig
    from pianorbm.model.train import train

    runs = run_folders(work, seeds)
    for (arm, seed), run in runs.items():
        print(f"training {arm} seed {seed}", flush=True)
        train(records[arm], run, TrainConfig(seed=seed), log=lambda line: print(line, flush=True))
    return runs


def trained(run: Path) -> bool:
    state = run / "state.json"
    return state.exists() and bool(json.loads(state.read_text()).get("finished"))


def evaluate_and_sample(runs: dict, records: dict[str, Path]) -> dict:
    """{(arm, seed): (the evaluation on the piano test pieces, the samples folder)}; resumes."""
    from pianorbm.model.config import EvaluateConfig, SampleConfig
    from pianorbm.model.evaluate import evaluate_run
    from pianorbm.model.sample import sample_run

    results = {}
    for (arm, seed), run in runs.items():
        scored = run / "eval-piano-test.json"
        if not scored.exists():
            figures = evaluate_run(run, records["piano"], EvaluateConfig(pieces=EVALUATED_PIECES))
            write_text_atomic(scored, json.dumps(figures, indent=1))
        samples = run / "samples-piano"
        if not (samples / "samples.json").exists():
            sample_run(run, samples, SampleConfig(num_outputs=SAMPLES, steps=SAMPLE_STEPS, audio="none"),
                       overwrite=True)
        results[(arm, seed)] = (json.loads(scored.read_text()), samples)
    return results


def piano_test_statistics(records: Path) -> dict:
    """The music statistics of the piano test pieces (untransposed), per-piece lists kept."""
    from pianorbm.rolls.music_stats import set_statistics
    from pianorbm.rolls.pianoroll import cells_to_roll
    from pianorbm.rolls.records import load_info, read_split

    info = load_info(records)
    rolls = [cells_to_roll(e["cells"], e["num_frames"]) for e in read_split(records, "test") if e["transpose"] == 0]
    return set_statistics(rolls, 60 / (120 * info["steps_per_quarter"]))


def sample_statistics(samples: Path, data: dict) -> dict:
    """A run's samples read back from their MIDI files onto the records' grid (exactly the rolls they
    were written from), their statistics beside the piano test data's, and the share within its range."""
    import numpy as np

    from pianorbm.curate.file_curation import parse_song
    from pianorbm.rolls.music_stats import compare, set_statistics
    from pianorbm.rolls.pianoroll import notes_to_roll

    summary = json.loads((samples / "samples.json").read_text())
    steps, steps_per_quarter = summary["steps"], summary["steps_per_quarter"]
    rolls = []
    for output in summary["outputs"]:
        song, _ = parse_song((samples / output["midi"]).read_bytes())
        read = notes_to_roll(song, song.notes, steps_per_quarter=steps_per_quarter)[:steps]
        rolls.append(np.pad(read, ((0, steps - len(read)), (0, 0))))  # trailing silence has no note to read
    statistics = set_statistics(rolls, 60 / (summary["settings"]["qpm"] * steps_per_quarter),
                                data["usual_max_voices"])
    return {**statistics, "within_data_range": compare(statistics, data)["within_data_range"]}


def paired_differences(runs: dict) -> tuple[dict[int, dict], dict | None]:
    """Curated minus raw on the same test frames, seed by seed (`pianorbm compare`'s paired bootstrap),
    and, with more than one seed, averaged over the seeds (else None)."""
    from pianorbm.model.compare import compare_run_pairs, compare_runs

    seeds = sorted({seed for arm, seed in runs if (("curated", seed) in runs and ("raw", seed) in runs)})
    pairs = [(runs[("curated", seed)], runs[("raw", seed)]) for seed in seeds]
    return ({seed: compare_runs(*pair) for seed, pair in zip(seeds, pairs)},
            compare_run_pairs(pairs) if len(pairs) > 1 else None)


def _interval(figure: dict, name: str, scale: float = 1.0) -> str:
    value, low_high = figure.get(name), figure.get(f"{name}_ci95")
    if value is None:
        return "n/a"
    text = f"{scale * value:.3f}"
    return text + (f" [{scale * low_high[0]:.3f}, {scale * low_high[1]:.3f}]" if low_high else "")


def _mean_interval(values: list[float], form: str, scale: float = 1.0) -> str:
    """The mean of per-sample values and its 95 % bootstrap interval over the samples."""
    from pianorbm.model.bootstrap import bootstrap_interval

    values = scale * np.asarray(values, np.float64)
    low, high = bootstrap_interval(values, np.ones(len(values)))
    return f"{values.mean():{form}} [{low:{form}}, {high:{form}}]"


def _data_range(statistics: dict, name: str, form: str, scale: float = 1.0) -> str:
    """The data's mean of a per-piece figure and the range its middle 90 % of pieces keeps."""
    from pianorbm.rolls.music_stats import data_range

    low, high = data_range(statistics["_per_piece"][name])
    return f"{scale * statistics[name]:{form}} ({scale * low:{form}}-{scale * high:{form}})"


def _difference(entry: dict, scale: float = 1.0) -> str:
    low, high = entry["ci95"]
    return f"{scale * entry['mean']:+.3f} [{scale * low:+.3f}, {scale * high:+.3f}]"


def _verdict(differences: dict[int, dict], figure: str, lower_is_better: bool) -> str:
    """Which arm each seed's paired interval favours, or that it cannot tell."""
    said = []
    for seed, result in differences.items():
        low, high = result[figure]["ci95"]
        if high < 0 or low > 0:
            said.append("curated" if (high < 0) == lower_is_better else "raw")
        else:
            said.append("neither")
    if len(set(said)) == 1:
        return {"curated": "curated better", "raw": "raw better", "neither": "no clear difference"}[said[0]] + \
            f" (in {'each of the ' + str(len(said)) + ' seeds' if len(said) > 1 else 'the one seed'})"
    return "the seeds disagree (" + ", ".join(f"seed {seed}: {w}" for seed, w in zip(differences, said)) + ")"


def report(counts: dict, results: dict, data_statistics: dict, differences: dict[int, dict], mean: dict | None,
           out: Path, missing: list[tuple[str, int]]) -> None:
    lines = ["# The curation effect: a mixed corpus, raw and curated to piano-only", "",
             f"Measured by `python benchmarks/curation_effect.py` ({time.strftime('%Y-%m-%d')}). "
             f"Test: the first {counts['piano_test_pieces']} pieces by name ({counts['piano_test_songs']} songs) of "
             f"POP909's test split built from POP909 alone ({counts['piano_test_split_pieces']} pieces, "
             f"{counts['piano_test_split_songs']} songs), the same pieces pretrained:pop909-piano is scored on; "
             "none of their songs is in either arm's training set (checked). Songs of the whole test split with a "
             "version in an arm's train split (near-duplicates the default grouping misses, docs/near-duplicates.md): "
             + "; ".join(f"{arm} {', '.join(counts[f'{arm}_split_songs_also_in_train']) or 'none'}" for arm in ARMS)
             + ". Both arms are trained by the default recipe (`pianorbm train RECORDS RUN`, nothing set); 95 % "
             "intervals are bootstraps over the test pieces, versions of a song drawn together."
             + (f" **Partial**: not trained yet: {', '.join(f'{arm} seed {seed}' for arm, seed in missing)}."
                if missing else ""), "",
             "| arm | training frames: piano | other |", "|---|---:|---:|"]
    for arm in ARMS:
        lines.append(f"| {arm} | {counts[arm]['piano']:,} | {counts[arm]['other']:,} |")
    floors = next(iter(results.values()))[0]["floors"]
    lines += ["", "## Test likelihood and accuracy", "",
              "| arm | seed | best epoch | test NLL (AIS) [95 %] | reverse AIS | expected accuracy (%) | "
              "minus sampled Markov floor (points) | keys p > 1/2 minus copy floor (points) |",
              "|---|---:|---:|---|---|---|---|---|"]
    for (arm, seed), (figures, _) in results.items():
        lines.append(f"| {arm} | {seed} | {figures.get('trained', {}).get('weights_epoch', '')} | "
                     f"{_interval(figures, 'nll')} | {_interval(figures, 'nll_reverse')} | "
                     f"{_interval(figures, 'accuracy', 100)} | "
                     f"{_interval(figures['over_markov_floor'], 'accuracy', 100)} | "
                     f"{_interval(figures['over_copy_floor'], 'accuracy_likely_keys', 100)} |")
    lines += [f"| floor: independent keys | | | {_interval(floors['independent_keys'], 'nll')} | | "
              f"{_interval(floors['independent_keys'], 'accuracy', 100)} | | |",
              f"| floor: previous frame (Markov) | | | {_interval(floors['previous_frame'], 'nll')} | | "
              f"{_interval(floors['previous_frame'], 'accuracy_sampled', 100)} (sampled) | | |"]
    if differences:
        lines += ["", "Curated minus raw, paired on the same frames (negative NLL: curated better):", "",
                  "| seed | test NLL (AIS) | reverse AIS | expected accuracy (points) | keys p > 1/2 (points) |",
                  "|---:|---|---|---|---|"]
        rows = [*differences.items()] + ([("mean of the seeds", mean)] if mean else [])
        for seed, result in rows:
            lines.append(f"| {seed} | {_difference(result['nll'])} | {_difference(result['nll_reverse'])} | "
                         f"{_difference(result['accuracy'], 100)} | {_difference(result['accuracy_likely_keys'], 100)} |")
        lines += ["", f"- Test NLL: {_verdict(differences, 'nll', True)}; expected accuracy: "
                      f"{_verdict(differences, 'accuracy', False)}; keys p > 1/2: "
                      f"{_verdict(differences, 'accuracy_likely_keys', False)}."]
        if mean:
            lines.append("- Mean of the seeds: the per-frame differences averaged over the seeds; its interval is "
                         "over test pieces only (with two seeds, the spread between seeds is shown by their rows, "
                         "not estimated).")
    samples_of = {run: sample_statistics(samples, data_statistics) for run, (_, samples) in results.items()}
    lines += ["", "## Samples beside the piano test data", "",
              f"{SAMPLES} samples of {SAMPLE_STEPS} steps per run (`pianorbm sample`'s defaults otherwise), read back "
              "from their MIDI files; a run's figure is the mean over its samples [95 % bootstrap over samples]. "
              "Within: samples inside the piano test pieces' middle 90 % (5-95 % of pieces).", "",
              "| | voices (mean) | within | clashes (%) | within | notes per second | within | more than usual voices (%) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|",
              f"| piano test data ({data_statistics['pieces']} pieces; middle 90 % of pieces) | "
              f"{_data_range(data_statistics, 'voices_mean', '.2f')} | | "
              f"{_data_range(data_statistics, 'clash_rate', '.1f', 100)} | | "
              f"{_data_range(data_statistics, 'notes_per_second', '.2f')} | | "
              f"{100 * data_statistics['voices_above_usual']:.1f} |"]
    for (arm, seed), stats in samples_of.items():
        within = stats["within_data_range"]
        counted = {key: f"{round(within.get(key, 0) * SAMPLES)}/{SAMPLES}" for key in
                   ("voices_mean", "clash_rate", "notes_per_second")}
        per_sample = stats["_per_piece"]
        lines.append(f"| {arm}, seed {seed} | {_mean_interval(per_sample['voices_mean'], '.2f')} | "
                     f"{counted['voices_mean']} | {_mean_interval(per_sample['clash_rate'], '.1f', 100)} | "
                     f"{counted['clash_rate']} | {_mean_interval(per_sample['notes_per_second'], '.2f')} | "
                     f"{counted['notes_per_second']} | {100 * stats['voices_above_usual']:.1f} |")
    lines += ["", "Samples within the piano test data's middle 90 %, all seeds together:", ""]
    for arm in ARMS:
        mine = [stats["within_data_range"] for (name, _), stats in samples_of.items() if name == arm]
        if mine:
            total = SAMPLES * len(mine)
            lines.append(f"- {arm}: " + ", ".join(
                f"{label} {round(sum(w.get(key, 0) for w in mine) * SAMPLES)}/{total}" for key, label in
                (("voices_mean", "voices"), ("clash_rate", "clashes"), ("notes_per_second", "notes per second"))))
    write_report(lines, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "results" / "curation-effect")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--stage", choices=("data", "train", "evaluate", "all"), default="all",
                        help="evaluate: no training; evaluates the runs that have finished and writes the page")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "curation-effect.md")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    records = prepare_records(args.work, prepare_raw(args.work))
    counts = check_no_test_song_in_training(records)
    print(json.dumps(counts, indent=1), flush=True)
    if args.stage == "data":
        return
    if args.stage == "evaluate":  # another process may be training the rest
        runs = {key: run for key, run in run_folders(args.work, args.seeds).items() if trained(run)}
        if not runs:
            raise SystemExit("no run has finished training yet")
    else:
        runs = train_arms(args.work, records, args.seeds)
    if args.stage == "train":
        return
    results = evaluate_and_sample(runs, records)
    missing = [key for key in run_folders(args.work, args.seeds) if key not in runs]
    report(counts, results, piano_test_statistics(records["piano"]), *paired_differences(runs), args.out, missing)


if __name__ == "__main__":
    main()
