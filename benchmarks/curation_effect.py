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
docs/curation-effect.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

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


def train_arms(work: Path, records: dict[str, Path], seeds) -> dict[tuple[str, int], Path]:
    from pianorbm.model.config import TrainConfig
    from pianorbm.model.train import train

    runs = {}
    for seed in seeds:  # seed by seed, so that a stopped session leaves whole pairs of arms
        for arm in ("curated", "raw"):  # the cheaper arm first
            runs[(arm, seed)] = work / f"run-{arm}-seed{seed}"
            print(f"training {arm} seed {seed}", flush=True)
            train(records[arm], runs[(arm, seed)], TrainConfig(seed=seed), log=lambda line: print(line, flush=True))
    return runs


def evaluate_and_sample(runs: dict, records: dict[str, Path]) -> dict:
    from pianorbm.model.config import EvaluateConfig, SampleConfig
    from pianorbm.model.evaluate import evaluate_run
    from pianorbm.model.sample import sample_run

    results = {}
    for (arm, seed), run in runs.items():
        scored = run / "eval-piano-test.json"
        if not scored.exists():
            figures = evaluate_run(run, records["piano"], EvaluateConfig(pieces=EVALUATED_PIECES))
            scored.write_text(json.dumps(figures, indent=1))
        samples = run / "samples-piano"
        if not (samples / "samples.json").exists():
            sample_run(run, samples, SampleConfig(num_outputs=SAMPLES, steps=SAMPLE_STEPS, audio="none"),
                       overwrite=True)
        results[(arm, seed)] = (json.loads(scored.read_text()), json.loads((samples / "samples.json").read_text()))
    return results


def piano_test_statistics(records: Path) -> dict:
    from pianorbm.rolls.music_stats import public, set_statistics
    from pianorbm.rolls.pianoroll import cells_to_roll
    from pianorbm.rolls.records import load_info, read_split

    info = load_info(records)
    rolls = [cells_to_roll(e["cells"], e["num_frames"]) for e in read_split(records, "test") if e["transpose"] == 0]
    return public(set_statistics(rolls, 60 / (120 * info["steps_per_quarter"])))


def _interval(figure: dict, name: str, scale: float = 1.0) -> str:
    value, low_high = figure.get(name), figure.get(f"{name}_ci95")
    if value is None:
        return "n/a"
    text = f"{scale * value:.3f}"
    return text + (f" [{scale * low_high[0]:.3f}, {scale * low_high[1]:.3f}]" if low_high else "")


def report(counts: dict, results: dict, data_statistics: dict, out: Path) -> None:
    lines = ["# The curation effect: a mixed corpus, raw and curated to piano-only", "",
             f"Measured by `python benchmarks/curation_effect.py` ({time.strftime('%Y-%m-%d')}). "
             f"Test: the first {counts['piano_test_pieces']} pieces by name ({counts['piano_test_songs']} songs) of "
             f"POP909's test split built from POP909 alone ({counts['piano_test_split_pieces']} pieces, "
             f"{counts['piano_test_split_songs']} songs), the same pieces pretrained:pop909-piano is scored on; "
             "none of their songs is in either arm's training set (checked). Songs of the whole test split with a "
             "version in an arm's train split (near-duplicates the default grouping misses, docs/near-duplicates.md): "
             + "; ".join(f"{arm} {', '.join(counts[f'{arm}_split_songs_also_in_train']) or 'none'}" for arm in ARMS)
             + ".", "",
             "| arm | training frames: piano | other |", "|---|---:|---:|"]
    for arm in ARMS:
        lines.append(f"| {arm} | {counts[arm]['piano']:,} | {counts[arm]['other']:,} |")
    lines += ["", "| arm | seed | test NLL (AIS) [95 %] | reverse AIS | expected accuracy | minus sampled Markov floor | "
              "keys p > 1/2 minus copy floor | voices (mean) | clashes | more than usual voices |",
              "|---|---:|---|---|---|---|---|---:|---:|---:|"]
    for (arm, seed), (figures, samples) in results.items():
        stats = samples["statistics"]["samples"]
        lines.append(f"| {arm} | {seed} | {_interval(figures, 'nll')} | {_interval(figures, 'nll_reverse')} | "
                     f"{_interval(figures, 'accuracy', 100)} | "
                     f"{_interval(figures['over_markov_floor'], 'accuracy', 100)} | "
                     f"{_interval(figures['over_copy_floor'], 'accuracy_likely_keys', 100)} | "
                     f"{stats.get('voices_mean', float('nan')):.2f} | {stats.get('clash_rate', float('nan')):.3f} | "
                     f"{stats.get('voices_above_usual', float('nan')):.3f} |")
    lines += ["", f"Piano test data: voices {data_statistics.get('voices_mean', float('nan')):.2f}, clashes "
                  f"{data_statistics.get('clash_rate', float('nan')):.3f}, more than usual voices "
                  f"{data_statistics.get('voices_above_usual', float('nan')):.3f}."]
    write_report(lines, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "results" / "curation-effect")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--stage", choices=("data", "train", "all"), default="all")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "curation-effect.md")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    records = prepare_records(args.work, prepare_raw(args.work))
    counts = check_no_test_song_in_training(records)
    print(json.dumps(counts, indent=1), flush=True)
    if args.stage == "data":
        return
    runs = train_arms(args.work, records, args.seeds)
    if args.stage == "train":
        return
    report(counts, evaluate_and_sample(runs, records), piano_test_statistics(records["piano"]), args.out)


if __name__ == "__main__":
    main()
