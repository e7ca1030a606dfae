#!/usr/bin/env python3
"""pianorbm: curate MIDI, build piano-roll records, train and sample RNN-RBMs.

Commands stay thin: they turn options into a config, call one library function and print a
summary. Heavy imports (TensorFlow, music21) happen inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


def _progress_bar(description: str, quiet: bool, unit: str = "file"):
    if quiet:
        return None

    def make(total: int, stage: str = description):
        from tqdm import tqdm

        return tqdm(total=total, desc=stage, unit=unit, dynamic_ncols=True, file=sys.stderr)

    return make


def _quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter (CUDA probing on CPU machines) is not for our users."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _int_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("..")
    try:
        return (int(low), int(high)) if sep else (int(low), int(low))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a range like -5..6") from None


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not three fractions like 0.8,0.1,0.1") from None
    if len(parts) != 3:
        raise click.BadParameter(f"{text!r} is not three fractions like 0.8,0.1,0.1")
    return parts


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="pianorbm", message="%(prog)s %(version)s")
def main() -> None:
    """Turn a folder of MIDI files into a trained RNN-RBM of piano music, and sample from it.

    The stages chain through folders: raw/ -> curate -> clean/ -> build-records -> records/ ->
    train -> run/ -> sample -> samples/. Each output folder describes itself, so no option has
    to be repeated downstream, and a rerun skips or resumes what is already done.
    """


@main.command("corpus")
@click.argument("source", type=click.Choice(["music21"]))
@click.argument("query")
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--parts", "mode", type=click.Choice(["keyboard", "original"]), default="keyboard",
              help="keyboard: every part played by a piano (program 0, track 'Piano'); original: the "
                   "score's own instruments (parts without one are written as program 0).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes [all cores].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def corpus_command(source: str, query: str, dst: Path, mode: str, jobs: int | None, quiet: bool) -> None:
    """Export works of a bundled corpus to MIDI files in DST (nothing is downloaded).

    QUERY names a collection (bach/chorales), a glob over the corpus's relative paths
    (beethoven/opus18*) or a path prefix (schumann_clara). Works that fail to export are reported
    and skipped; works already in DST are not redone.
    """
    from curate.music21_corpus import export_corpus

    try:
        result = export_corpus(query, dst, mode=mode, jobs=jobs, progress=_progress_bar("export", quiet))
    except LookupError as err:
        raise click.ClickException(str(err)) from err
    failed = [row for row in result.works if row["status"] == "failed"]
    files = sum(len(row["outputs"]) for row in result.works)
    click.echo(f"{len(result.works)} works matched {query!r}: {len(result.works) - len(failed)} exported "
               f"({result.skipped} already there), {len(failed)} failed; {files} MIDI files in {dst}")
    for row in failed:
        click.echo(f"  failed: {row['work']}: {row['error']}", err=True)


@main.command("curate")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--piano-only", is_flag=True,
              help="Keep only files whose pitched notes are all piano (GM 0-7, never the drum channel; "
                   "program 0 is checked against track names).")
@click.option("--extract-piano", is_flag=True,
              help="With --piano-only: keep the piano parts of mixed files instead of rejecting them.")
@click.option("--scores", is_flag=True,
              help="Also read MusicXML (.xml .musicxml .mxl), ABC (.abc) and Humdrum (.krn) files through "
                   "music21 (slow); clean copies are MIDI files named after the score plus .mid.")
@click.option("--min-notes", type=click.IntRange(min=1), default=32, help="Fewest kept notes.")
@click.option("--min-seconds", type=click.FloatRange(min=0), default=5.0, help="Shortest kept material.")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=1800.0, help="Longest kept material.")
@click.option("--max-out-of-range", type=click.FloatRange(0, 1), default=0.02,
              help="Largest fraction of kept notes outside MIDI 21-108.")
@click.option("--max-file-mb", type=click.FloatRange(min=0), default=16.0, help="Larger files are rejected unread.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=30.0,
              help="Seconds allowed to read and check one file.")
@click.option("--memory-mb", type=click.IntRange(min=0), default=2048,
              help="Memory each worker may allocate (0: no limit).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes [all cores].")
@click.option("--manifest-format", type=click.Choice(["csv", "parquet"]), default="csv")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def curate_command(src: Path, dst: Path, piano_only: bool, extract_piano: bool, scores: bool, min_notes: int,
                   min_seconds: float, max_seconds: float, max_out_of_range: float, max_file_mb: float,
                   timeout_s: float, memory_mb: int, jobs: int | None, manifest_format: str, quiet: bool) -> None:
    """Curate the MIDI files under SRC into a clean corpus in DST.

    SRC is never written to. DST gets a clean MIDI file per kept input (same relative path) and a
    manifest with one row per input: status (kept, rejected, duplicate, unreadable), a reason
    code, and the facts a curator sorts by. Rerunning resumes: finished files are not redone.
    """
    from curate.config import CurateConfig
    from curate.curation import CurationSetupError, curate_folder
    from curate.manifest import summary_table

    if extract_piano and not piano_only:
        raise click.UsageError("--extract-piano only makes sense with --piano-only")
    config = CurateConfig(piano_only=piano_only, extract_piano=extract_piano, scores=scores, min_notes=min_notes,
                          min_seconds=min_seconds, max_seconds=max_seconds, max_out_of_range=max_out_of_range,
                          max_file_bytes=int(max_file_mb * 2**20), timeout_s=timeout_s, memory_mb=memory_mb)
    try:
        result = curate_folder(src, dst, config, jobs=jobs, manifest_format=manifest_format,
                               progress=_progress_bar("curate", quiet))
    except CurationSetupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(summary_table(result.manifest))
    rate = result.processed / result.seconds if result.seconds else 0.0
    click.echo(f"read {result.processed} files ({rate:.0f} files/s), reused {result.reused} from an earlier run; "
               f"manifest: {result.manifest_path}")


@main.command("build-records")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="[CLEAN_DIR] OUT_DIR")
@click.option("--from-pickle", "pickle_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Import a Boulanger-Lewandowski benchmark pickle (published splits kept) instead of CLEAN_DIR.")
@click.option("--steps-per-quarter", type=click.IntRange(min=1), default=None,
              help="Grid steps per quarter note [4; for a benchmark pickle, its own resolution].")
@click.option("--dt", type=click.FloatRange(min=0.001), default=None,
              help="Seconds per step (a seconds grid through the tempo map) instead of --steps-per-quarter.")
@click.option("--split", "split", default="0.8,0.1,0.1", help="train,valid,test fractions (by piece content).")
@click.option("--transpose", default="0..0", help="Semitone range of transposed copies added to train, e.g. -5..6.")
@click.option("--shards", type=click.IntRange(min=1), default=8, help="Most TFRecord files per split.")
@click.option("--sustain/--no-sustain", default=True, help="Apply the sustain pedal to note lengths.")
@click.option("--key-normalise", is_flag=True, help="Transpose each piece to C major / A minor from its estimated key.")
@click.option("--out-of-range", type=click.Choice(["drop", "fold"]), default="drop",
              help="What to do with pitches outside MIDI 21-108.")
@click.option("--max-frames", type=click.IntRange(min=1), default=100_000, help="Longer pieces are dropped.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes [all cores].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def build_records_command(paths, pickle_path, steps_per_quarter, dt, split, transpose, shards, sustain,
                          key_normalise, out_of_range, max_frames, jobs, quiet) -> None:
    """Turn a curated folder (or a benchmark pickle) into piano-roll TFRecords in OUT_DIR.

    Writes sharded train/valid/test TFRecords (sparse rolls, column 0 = MIDI 21) and dataset.json
    (settings, inputs, counts, pitch histogram, keys, what was dropped). A rerun with the same
    inputs and settings does nothing.
    """
    _quiet_tensorflow()
    from pipelines.build_records import BuildError, RecordsConfig, build_records

    if pickle_path is not None and len(paths) != 1:
        raise click.UsageError("with --from-pickle give only OUT_DIR")
    if pickle_path is None and len(paths) != 2:
        raise click.UsageError("give CLEAN_DIR and OUT_DIR (or --from-pickle PICKLE OUT_DIR)")
    if steps_per_quarter is not None and dt is not None:
        raise click.UsageError("--steps-per-quarter and --dt exclude each other")
    try:
        config = RecordsConfig(steps_per_quarter=None if dt else (steps_per_quarter or 4), dt=dt,
                               split=_fractions(split), transpose=_int_range(transpose), shards=shards,
                               sustain=sustain, key_normalise=key_normalise, out_of_range=out_of_range,
                               max_frames=max_frames)
        info = build_records(paths[-1], config, clean_dir=paths[0] if pickle_path is None else None,
                             pickle_path=pickle_path, jobs=jobs, progress=_progress_bar("roll", quiet))
    except BuildError as err:
        raise click.ClickException(str(err)) from err
    if info.get("up_to_date"):
        click.echo(f"{paths[-1]} is up to date with its inputs and settings: nothing to do")
    click.echo(f"{'split':<7} {'pieces':>7} {'examples':>9} {'frames':>9} {'shards':>7}")
    for name, split_info in info["splits"].items():
        click.echo(f"{name:<7} {split_info['pieces']:>7} {split_info['examples']:>9} {split_info['frames']:>9} "
                   f"{len(split_info['shards']):>7}")
    grid = f"{info['steps_per_quarter']} steps per quarter" if info["steps_per_quarter"] else f"{info['dt']} s steps"
    dropped = ", ".join(f"{k}: {v}" for k, v in info["dropped"].items()) or "nothing"
    click.echo(f"grid: {grid}; dropped: {dropped}; records: {paths[-1]}")


@main.command("train")
@click.argument("records_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cell", type=click.Choice(["rnn", "gru", "lstm"]), default="gru",
              help="Conditioner: the paper's tanh RNN, a GRU or an LSTM.")
@click.option("--hidden", type=click.IntRange(min=1), default=150, help="RBM hidden units.")
@click.option("--recurrent", type=click.IntRange(min=1), default=100, help="Recurrent units.")
@click.option("--k", type=click.IntRange(min=1), default=15, help="Gibbs steps of CD-k.")
@click.option("--sampler", type=click.Choice(["xorshift", "philox"]), default="xorshift",
              help="Random numbers for the Gibbs chains: fast per-unit xorshift streams, or exact Philox.")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3)
@click.option("--lr-decay", type=click.FloatRange(0, 1), default=0.98, help="Learning-rate factor per epoch.")
@click.option("--epochs", type=click.IntRange(min=1), default=50)
@click.option("--batch-size", type=click.IntRange(min=1), default=64)
@click.option("--seq-len", type=click.IntRange(min=2), default=100, help="Frames per training window.")
@click.option("--pad-windows/--no-pad-windows", default=True,
              help="Train on every frame: short pieces and piece ends become zero-padded, masked windows "
                   "(otherwise they are left out).")
@click.option("--pretrain-epochs", type=click.IntRange(min=0), default=0,
              help="Epochs of CD on the RBM alone (frames as independent) before the whole model trains.")
@click.option("--validation-nll-every", type=click.IntRange(min=0), default=0,
              help="Epochs between validation NLLs (AIS, 8 chains x 100 temperatures); when set, they pick the "
                   "best weights and drive early stopping instead of the reconstruction monitor (0: never).")
@click.option("--seed", type=int, default=0)
@click.option("--patience", type=click.IntRange(min=0), default=10,
              help="Stop after this many epochs without a better validation monitor (0: never).")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=100, help="Steps between checkpoints.")
@click.option("--image-every", type=click.IntRange(min=0), default=5, help="Epochs between sample pictures.")
@click.option("--mixed-precision", is_flag=True, help="float16 conditioner (for GPUs); the RBM stays float32.")
@click.option("--restart", is_flag=True, help="Clear RUN_DIR and start over.")
def train_command(records_dir: Path, run_dir: Path, restart: bool, **settings) -> None:
    """Train an RNN-RBM on RECORDS_DIR into RUN_DIR (resumes when RUN_DIR holds this run).

    RUN_DIR receives the model, data and training configs, checkpoints (every --checkpoint-every
    steps and every epoch), the best weights by validation monitor, history.csv, TensorBoard logs
    and sample pictures. Run the same command again after an interruption to resume.
    """
    _quiet_tensorflow()
    from model.train import TrainConfig, TrainingError, train

    try:
        state = train(records_dir, run_dir, TrainConfig(**settings), restart=restart, log=click.echo)
    except TrainingError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{run_dir}: epoch {state['epoch']}, step {state['step']}, best {state.get('criterion', 'val_monitor')} "
               f"{state['best_monitor']:.4f} at epoch {state['best_epoch']} ({state['finished'] or 'in progress'})")


@main.command("sample")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--num-outputs", "-n", type=click.IntRange(min=1), default=8, help="Pieces generated in parallel.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Length in frames [256].")
@click.option("--bars", type=click.FloatRange(min=0, min_open=True), default=None, help="Length in 4/4 bars.")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=None, help="Length in seconds.")
@click.option("--k", type=click.IntRange(min=1), default=25, help="Gibbs steps per frame.")
@click.option("--mode", type=click.Choice(["sample", "mean", "argmax", "top-n"]), default="sample",
              help="sample: Bernoulli (the paper); mean: keys above --threshold; argmax: the most probable key "
                   "only; top-n: the --top-n most probable keys.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Lowest key probability emitted [0.5 for mean, 0 for argmax and top-n].")
@click.option("--top-n", type=click.IntRange(min=1), default=3, help="Keys per frame in top-n mode.")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=1.0,
              help="Divides the RBM energies: above 1 more random, below 1 more conservative.")
@click.option("--qpm", type=click.FloatRange(min=1), default=120.0, help="Tempo of the MIDI files.")
@click.option("--reattack", is_flag=True, help="Every active frame is a new note (default: held notes).")
@click.option("--seed", type=int, default=0)
@click.option("--primer", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A MIDI file whose first --primer-steps frames start every output.")
@click.option("--primer-steps", type=click.IntRange(min=1), default=16)
@click.option("--primer-pitches", default=None, help="A first frame of these MIDI pitches, e.g. 60,64,67.")
@click.option("--weights", type=click.Choice(["best", "latest"]), default="best")
def sample_command(run_dir: Path, out_dir: Path, primer_pitches: str | None, **settings) -> None:
    """Generate new pieces from the trained run in RUN_DIR into OUT_DIR (MIDI, PNG, samples.json)."""
    _quiet_tensorflow()
    from model.sample import SampleConfig, SampleError, sample_run

    pitches = None
    if primer_pitches:
        try:
            pitches = tuple(int(p) for p in primer_pitches.split(","))
        except ValueError:
            raise click.BadParameter(f"{primer_pitches!r} is not a list like 60,64,67",
                                     param_hint="--primer-pitches") from None
    try:
        summary = sample_run(run_dir, out_dir, SampleConfig(primer_pitches=pitches, **settings))
    except SampleError as err:
        raise click.ClickException(str(err)) from err
    notes = sum(o["notes_per_frame"] for o in summary["outputs"]) / len(summary["outputs"])
    click.echo(f"{len(summary['outputs'])} pieces of {summary['steps']} frames in {out_dir} "
               f"({summary['seconds']:.1f} s with compiling, {notes:.2f} notes per frame, "
               f"seed {summary['settings']['seed']})")


@main.command("evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("records_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", help="Split to evaluate.")
@click.option("--ais-chains", type=click.IntRange(min=2), default=16, help="AIS chains per frame.")
@click.option("--ais-betas", type=click.IntRange(min=3), default=500, help="AIS inverse temperatures.")
@click.option("--accuracy-k", type=click.IntRange(min=1), default=25, help="Gibbs steps for predicted frames.")
@click.option("--seed", type=int, default=0)
@click.option("--weights", type=click.Choice(["best", "latest"]), default="best")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def evaluate_command(run_dir: Path, records_dir: Path | None, quiet: bool, **settings) -> None:
    """NLL per time step (AIS) and frame accuracy of RUN_DIR on a split of RECORDS_DIR.

    RECORDS_DIR defaults to the records the run was trained on. Prints a table (with the paper's
    figures for a standard benchmark) and writes RUN_DIR/eval-<split>.json.
    """
    _quiet_tensorflow()
    from model.evaluate import EvaluateConfig, EvaluationError, evaluate_run, result_table

    try:
        result = evaluate_run(run_dir, records_dir, EvaluateConfig(**settings),
                              progress=_progress_bar("evaluate", quiet, "frame"))
    except EvaluationError as err:
        raise click.ClickException(str(err)) from err
    click.echo(result_table(result))


@main.command("pipeline")
@click.argument("config", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [the config's pipeline.out].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def pipeline_command(config: Path | None, out: Path | None, quiet: bool) -> None:
    """Run corpus export -> curate -> build-records -> train -> sample (-> evaluate) from CONFIG.

    CONFIG is a TOML or YAML file with one section per stage; without it, the bundled
    pipelines/configs/bach-chorales.toml runs (music21's Bach chorales, a GRU-RBM trained briefly). Stages
    whose outputs are up to date with their inputs and settings are skipped, so a rerun after an
    interruption or a config change does only what is needed. Writes OUT/report.html.
    """
    _quiet_tensorflow()
    from pipelines.pipeline import PipelineError, run_pipeline
    from pipelines.pipeline_config import PipelineConfigError, load_pipeline_config

    try:
        settings = load_pipeline_config(config, out)
        result = run_pipeline(settings, log=click.echo,
                              progress=lambda description, unit="file": _progress_bar(description, quiet, unit))
    except (PipelineConfigError, PipelineError) as err:
        raise click.ClickException(str(err)) from err
    ran = [o.stage for o in result.outcomes if o.status == "ran"]
    click.echo(f"ran: {', '.join(ran) or 'nothing (all up to date)'}; report: {result.layout.report}")


if __name__ == "__main__":
    main()
