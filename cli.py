#!/usr/bin/env python3
"""pianorbm: curate MIDI, build piano-roll records, train and sample RNN-RBMs.

Commands stay thin: their options come from the stages' settings declarations (common.settings),
they check settings and paths before anything heavy is imported, call one library function and
print a summary. TensorFlow is imported only by the commands that need it, with its start-up
logging held back unless ``-v``.
"""

from __future__ import annotations

if __name__ == "__main__" and not __package__:  # `python cli.py`: this checkout is the package pianorbm
    import importlib.util
    import sys
    from pathlib import Path

    _root = Path(__file__).resolve().parent
    _spec = importlib.util.spec_from_file_location("pianorbm", _root / "__init__.py",
                                                   submodule_search_locations=[str(_root)])
    sys.modules["pianorbm"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["pianorbm"])

import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click

from pianorbm.common.settings import SettingsError, click_options
from pianorbm.curate.config import CurateConfig
from pianorbm.model.config import EvaluateConfig, SampleConfig, TrainConfig
from pianorbm.rolls.records_config import RecordsConfig

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class Output:
    """What the user asked to see: -q (no progress, no running log) or -v (library logs, tracebacks)."""

    quiet = False
    verbose = False

    @classmethod
    def log(cls, text: str) -> None:
        if not cls.quiet:
            click.echo(text)


def _set_quiet(ctx, param, value):
    if value:
        Output.quiet = True


def _set_verbose(ctx, param, value):
    if value:
        Output.verbose = True
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        logging.basicConfig()
        logging.getLogger("apache_beam").setLevel(logging.INFO)


def verbosity(command):
    """-q and -v, on every command."""
    command = click.option("--verbose", "-v", is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
                           help="Show TensorFlow's logs and the traceback of an unexpected error.")(command)
    return click.option("--quiet", "-q", is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
                        help="No progress bars and no running log; errors and the result only.")(command)


def _progress_bar(description: str, unit: str = "file"):
    if Output.quiet:
        return None

    from pianorbm.common.progress import progress_factory

    return progress_factory(description, unit)


def _import_tensorflow() -> None:
    """Imports TensorFlow with its C++ start-up lines (CUDA probing, oneDNN, CPU features) held back,
    unless -v; they are shown if the import itself fails."""
    from pianorbm.common.quiet import import_tensorflow

    tf = import_tensorflow(quiet=not Output.verbose)
    if not Output.verbose:
        tf.get_logger().setLevel("ERROR")


@contextmanager
def _reported(*errors, exit_code: int = 1):
    """The library's own errors (bad input, a stage that cannot go on) as one-line command errors;
    ``exit_code`` 2 for mistakes in what was asked (a config file's), as click's usage errors."""
    try:
        yield
    except errors as err:
        failure = click.ClickException(str(err))
        failure.exit_code = exit_code
        raise failure from err


def _settings(cls, values: dict):
    """The stage's settings from the command line, or a usage error naming the option."""
    try:
        return cls(**values)
    except SettingsError as err:
        raise click.UsageError(err.for_option()) from None


class Commands(click.Group):
    """Errors as one line: a usage error exits 2, a failed command 1, Ctrl-C 130."""

    def format_commands(self, ctx, formatter):
        """Each command with the whole first sentence of its help, never cut short."""
        rows = [(name, (command.help or "").split("\n\n")[0].replace("\n", " ")) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        Output.quiet = Output.verbose = False
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as err:  # the error first, then where to read more
            click.echo(f"Error: {err.format_message()}", err=True)
            if err.ctx is not None:
                click.echo(f"Try '{err.ctx.command_path} -h' for help.", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("interrupted: every file written so far is complete; run the same command again to resume",
                       err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as err:  # a bug or an environment problem: one line, the traceback with -v
            if Output.verbose:
                raise
            click.echo(f"Error: {type(err).__name__}: {err} (run with -v for the traceback)", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=Commands, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="pianorbm", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn a folder of MIDI files into a trained RNN-RBM of piano music, and sample from it.

    The stages chain through folders: raw/ -> curate -> clean/ -> build-records -> records/ ->
    train -> run/ -> sample -> samples/. Each output folder describes itself, so no option has
    to be repeated downstream, and a rerun skips or resumes what is already done.
    """
    if ctx.invoked_subcommand is None:  # `pianorbm` alone: what there is to run
        click.echo(ctx.get_help())


@main.command("corpus", epilog="\b\nExamples:\n  pianorbm corpus music21 bach/chorales raw/\n"
                               "  pianorbm corpus music21 'beethoven/opus18*' quartets/ --parts original\n"
                               "  pianorbm corpus benchmark jsb-chorales benchmarks/")
@click.argument("source", type=click.Choice(["music21", "benchmark"]))
@click.argument("query")
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--parts", "mode", type=click.Choice(["keyboard", "original"]), default="keyboard",
              help="music21: keyboard: every part played by a piano (program 0, track 'Piano'); original: the "
                   "score's own instruments (parts without one are written as program 0).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="music21: worker processes "
                                                                             "[all cores].")
@click.option("--retry-failed", is_flag=True, help="music21: try again the works that failed in an earlier run "
                                                   "into DST (they are kept as failed otherwise).")
@click.option("--url", default=None, metavar="URL", help="benchmark: download from this copy instead of the "
                                                         "original address (the music is checked all the same).")
@verbosity
def corpus_command(source: str, query: str, dst: Path, mode: str, jobs: int | None, retry_failed: bool,
                   url: str | None) -> None:
    """Export works of music21's bundled corpus to MIDI files, or download a standard benchmark, into DST.

    music21 QUERY names a collection (bach/chorales), a glob over the corpus's relative paths
    (beethoven/opus18*) or a path prefix (schumann_clara); nothing is downloaded. Works that fail to
    export are reported and skipped; works already in DST are not redone, nor are those that failed
    there before (--retry-failed tries them again).

    benchmark NAME (jsb-chorales, nottingham, musedata, piano-midi.de) downloads the pickle of
    Boulanger-Lewandowski et al. (2012) from its original address, the only command that uses the
    network, and checks its music against a recorded SHA-256; then `pianorbm build-records
    --from-pickle` reads it.
    """
    if source == "benchmark":
        _download_benchmark(query, dst, url)
        return
    from pianorbm.curate.music21_corpus import export_corpus

    with _reported(LookupError, exit_code=2):  # a query that matches no work
        result = export_corpus(query, dst, mode=mode, jobs=jobs, progress=_progress_bar("export"),
                               retry_failed=retry_failed)
    failed = [row for row in result.works if row["status"] == "failed"]
    files = sum(len(row["outputs"]) for row in result.works)
    pieces_failed = [(row["work"], piece) for row in result.works for piece in row.get("failed_pieces", [])]
    click.echo(f"{len(result.works)} works matched {query!r}: {len(result.works) - len(failed)} exported "
               f"({result.skipped} done before), {len(failed)} failed; {files} MIDI files in {dst}"
               + (f"; {len(pieces_failed)} pieces of collections failed, the rest of each written"
                  if pieces_failed else ""))
    for row in failed:
        click.echo(f"  failed: {row['work']}: {row['error']}", err=True)
    for work, piece in pieces_failed:
        click.echo(f"  failed: {work}, piece {piece['piece']}: {piece['error']}", err=True)


def _download_benchmark(name: str, dst: Path, url: str | None) -> None:
    from pianorbm.rolls.benchmark_download import BenchmarkError, UnknownBenchmark, download_benchmark

    with _reported(BenchmarkError), _reported(UnknownBenchmark, exit_code=2):  # an unknown name: usage
        entry = download_benchmark(name, dst, url=url)
    pickle = dst / entry["file"]
    counts = ", ".join(f"{split} {entry['sequences'][split]}" for split in ("train", "valid", "test"))
    state = "already there" if entry.get("already_there") else f"downloaded from {entry['url']}"
    check = "its music matches the published one" if entry["verified"] else \
        f"unverified: no digest is recorded for {name} yet (its content SHA-256: {entry['content_sha256']})"
    click.echo(f"{pickle}: {state}; {counts} sequences; {check}")
    click.echo(f'next: pianorbm build-records --from-pickle "{pickle}" {name}-records/')


def beam_options(command):
    """--runner and --beam-option: run a stage as an Apache Beam pipeline (the optional extra)."""
    command = click.option("--beam-option", "beam_options", multiple=True, metavar="KEY=VALUE",
                           help="A Beam pipeline option, repeatable (e.g. project=my-project, "
                                "flink_master=host:8081).")(command)
    return click.option("--runner", default=None, metavar="NAME",
                        help="Run on Apache Beam with this runner (DirectRunner, FlinkRunner, SparkRunner, "
                             "DataflowRunner; needs pip install 'pianorbm[beam]'); the result equals a local "
                             "run's. Folders may then be URLs of Beam's filesystems (gs://, s3://).")(command)


@main.command("curate", epilog="\b\nExamples:\n  pianorbm curate --piano-only raw/ clean/\n  pianorbm curate --piano-only --extract-piano --scores ~/midi/ clean/")
@click.argument("src", type=click.Path(path_type=str))
@click.argument("dst", type=click.Path(path_type=str))
@click_options(CurateConfig)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes [all cores].")
@click.option("--manifest-format", type=click.Choice(["csv", "parquet"]), default="csv",
              help="The manifest's file: manifest.csv, or manifest.parquet (smaller and faster for large corpora).")
@beam_options
@verbosity
def curate_command(src: str, dst: str, jobs: int | None, manifest_format: str, runner: str | None,
                   beam_options: tuple[str, ...], **settings) -> None:
    """Curate the MIDI files under SRC into a clean corpus in DST.

    SRC is never written to. DST gets a clean MIDI file per kept input (same relative path) and a
    manifest with one row per input: status (kept, rejected, duplicate, unreadable), a reason
    code, and the facts a curator sorts by. Rerunning resumes: finished files are not redone
    (with --runner every file is examined again).
    """
    config = _settings(CurateConfig, settings)
    from pianorbm.common.storage import is_url
    from pianorbm.curate.curation import CurationSetupError, curate_folder
    from pianorbm.curate.manifest import summary_table

    if not runner and (is_url(src) or is_url(dst)):
        raise click.UsageError("URL folders need --runner (Beam's filesystems read and write them)")
    if not runner and not Path(src).is_dir():
        raise click.UsageError(f"SRC {src} does not exist or is not a folder")
    if runner:
        from pianorbm.curate.beam_curation import curate_with_beam
        from pianorbm.common.beam import BeamSetupError

        Output.log(f"curating on Apache Beam ({runner})")
        with _reported(CurationSetupError, BeamSetupError):
            result = curate_with_beam(src, dst, config, runner=runner, beam_options=beam_options, jobs=jobs,
                                      manifest_format=manifest_format)
    else:
        with _reported(CurationSetupError):
            result = curate_folder(Path(src), Path(dst), config, jobs=jobs, manifest_format=manifest_format,
                                   progress=_progress_bar("curate"))
    click.echo(summary_table(result.manifest))
    rate = result.processed / result.seconds if result.seconds else 0.0
    click.echo(f"read {result.processed} files ({rate:.0f} files/s), reused {result.reused} from an earlier run; "
               f"manifest: {result.manifest_path}")
    if not (result.manifest.status == "kept").any():
        click.echo(f"Warning: no file of {len(result.manifest)} was kept (the reasons are above and in the "
                   "manifest); build-records needs at least one", err=True)


@main.command("build-records", epilog="\b\nExamples:\n  pianorbm build-records clean/ records/ --transpose -3..3\n  pianorbm build-records --from-pickle 'JSB Chorales.pickle' jsb-records/")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str), metavar="[CLEAN_DIR] OUT_DIR")
@click.option("--from-pickle", "pickle_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Import a Boulanger-Lewandowski benchmark pickle (published splits kept) instead of CLEAN_DIR.")
@click_options(RecordsConfig)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes [all cores].")
@beam_options
@verbosity
def build_records_command(paths, pickle_path, jobs, runner, beam_options, **settings) -> None:
    """Turn a curated folder (or a benchmark pickle) into piano-roll TFRecords in OUT_DIR.

    Writes sharded train/valid/test TFRecords (sparse rolls, column 0 = MIDI 21) and dataset.json
    (settings, inputs, counts, per-split pitch histograms, keys, what was dropped). A rerun with the
    same inputs and settings does nothing.
    """
    if pickle_path is not None and len(paths) != 1:
        raise click.UsageError("with --from-pickle give only OUT_DIR")
    if pickle_path is None and len(paths) != 2:
        raise click.UsageError("give CLEAN_DIR and OUT_DIR (or --from-pickle PICKLE OUT_DIR)")
    from pianorbm.common.storage import is_url

    if not runner and any(is_url(path) for path in paths):
        raise click.UsageError("URL folders need --runner (Beam's filesystems read and write them)")
    if pickle_path is None and not is_url(paths[0]) and not Path(paths[0]).is_dir():
        raise click.UsageError(f"CLEAN_DIR {paths[0]} does not exist or is not a folder")
    config = _settings(RecordsConfig, settings)
    _import_tensorflow()
    from pianorbm.common.beam import BeamSetupError
    from pianorbm.rolls.build_records import BuildError, build_records

    if runner:
        Output.log(f"building records on Apache Beam ({runner})")
    with _reported(BuildError, BeamSetupError):
        info = build_records(paths[-1], config, clean_dir=paths[0] if pickle_path is None else None,
                             pickle_path=pickle_path, jobs=jobs, progress=_progress_bar("records"), runner=runner,
                             beam_options=beam_options)
    if info.get("up_to_date"):
        click.echo(f"{paths[-1]} is up to date with its inputs and settings: nothing to do")
    click.echo(f"{'split':<7} {'pieces':>7} {'examples':>9} {'frames':>9} {'shards':>7}")
    for name, split_info in info["splits"].items():
        click.echo(f"{name:<7} {split_info['pieces']:>7} {split_info['examples']:>9} {split_info['frames']:>9} "
                   f"{len(split_info['shards']):>7}")
    grid = f"{info['steps_per_quarter']} steps per quarter" if info["steps_per_quarter"] else f"{info['dt']} s steps"
    dropped = ", ".join(f"{k}: {v}" for k, v in info["dropped"].items()) or "nothing"
    click.echo(f"grid: {grid}; dropped: {dropped}; records: {paths[-1]}")


@main.command("train", epilog="\b\nExamples:\n  pianorbm train records/ run/ --cell lstm\n  pianorbm train records/ run/ --epochs 300   (more epochs: goes on)")
@click.argument("records_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click_options(TrainConfig)
@click.option("--restart", is_flag=True, help="Clear RUN_DIR and start over.")
@verbosity
def train_command(records_dir: Path, run_dir: Path, restart: bool, **settings) -> None:
    """Train an RNN-RBM on RECORDS_DIR into RUN_DIR (resumes when RUN_DIR holds this run).

    RUN_DIR receives the model, data and training configs, checkpoints (every --checkpoint-every
    batches and every epoch), the best weights by validation, history.csv, TensorBoard logs and
    sample pictures. Run the same command again after an interruption to resume.
    """
    config = _settings(TrainConfig, settings)
    from pianorbm.rolls.records import RecordsError, load_info

    with _reported(RecordsError):
        load_info(records_dir)
    _import_tensorflow()
    from pianorbm.model.train import TrainingError, train

    with _reported(TrainingError):
        state = train(records_dir, run_dir, config, restart=restart, log=Output.log)
    best = state.get("best_validation")
    click.echo(f"{run_dir}: epoch {state['epoch']}, step {state['step']}, best {state.get('criterion', 'val_monitor')} "
               f"{'none yet' if best is None else f'{best:.4f}'} at epoch {state['best_epoch']} "
               f"({state['finished'] or 'in progress'})")


def _list_pretrained(ctx, param, value):
    if value and not ctx.resilient_parsing:
        from pianorbm.model.pretrained import listing

        click.echo(listing())
        ctx.exit()


@main.command("sample", epilog="\b\nExamples:\n  pianorbm sample run/ samples/ --bars 16 --mode argmax\n  pianorbm sample pretrained:jsb-chorales out/ -n 2")
@click.argument("run", metavar="RUN")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click_options(SampleConfig)
@click.option("--list-pretrained", is_flag=True, expose_value=False, is_eager=True, callback=_list_pretrained,
              help="List the models that ship with pianorbm (RUN pretrained:NAME) and exit.")
@click.option("--overwrite", is_flag=True, help="Replace the samples OUT_DIR holds already (without it, a folder "
                                                "with samples is refused).")
@verbosity
def sample_command(run: str, out_dir: Path, overwrite: bool, **settings) -> None:
    """Generate new pieces from RUN into OUT_DIR: MIDI files, audio, pictures and samples.json.

    RUN is a run folder, a model file from `pianorbm export`, or pretrained:NAME for a model that
    ships with pianorbm (--list-pretrained), which samples with no training at all.
    """
    started = time.monotonic()
    config = _settings(SampleConfig, settings)
    from pianorbm.model.run_folder import RunFolderError, check_source

    from pianorbm.model.sample import SampleError, check_out_dir

    with _reported(RunFolderError, exit_code=2):  # RUN names no run: a usage mistake
        check_source(run)
    with _reported(SampleError):
        check_out_dir(out_dir, overwrite)
    if config.audio != "none":
        from pianorbm.rolls.audio import SoundFontError, given_soundfont

        try:
            given_soundfont(config.soundfont)
        except SoundFontError as err:
            raise click.UsageError(str(err)) from None
    Output.log("loading TensorFlow and the model, then compiling the sampler (about a minute on a CPU)")
    _import_tensorflow()
    from pianorbm.model.sample import sample_run

    with _reported(SampleError):
        summary = sample_run(run, out_dir, config, overwrite=overwrite)
    for warning in summary["warnings"]:
        click.echo(f"Warning: {warning}", err=True)
    notes = sum(o["notes_per_frame"] for o in summary["outputs"]) / len(summary["outputs"])
    audio = sum("audio" in o for o in summary["outputs"])
    click.echo(f"{len(summary['outputs'])} pieces of {summary['steps']} frames in {out_dir} "
               f"({time.monotonic() - started:.1f} s in all, {summary['seconds']:.1f} s of it generating with "
               f"compiling; {notes:.2f} notes per frame, {audio} audio files, "
               f"seed {summary['settings']['seed']})")
    statistics = summary["statistics"]
    if statistics.get("data"):
        samples, data = statistics["samples"], statistics["data"]
        click.echo(f"samples / training data: voices {samples['voices_mean']:.1f} / {data['voices_mean']:.1f}, "
                   f"semitone clashes {100 * samples['clash_rate']:.1f} % / {100 * data['clash_rate']:.1f} %, "
                   f"key fit {samples['key_fit']:.2f} / {data['key_fit']:.2f} (samples.json has the rest)")
        within = statistics.get("comparison", {}).get("within_data_range", {})
        if within:
            count = len(summary["outputs"])
            click.echo("samples within the data's middle 90 % of pieces: " + ", ".join(
                f"{label} {round(within[key] * count)}/{count}" for key, label in
                (("voices_mean", "voices"), ("clash_rate", "clashes"), ("notes_per_second", "notes per second"))
                if key in within))


@main.command("evaluate", epilog="\b\nExamples:\n  pianorbm evaluate run/\n  pianorbm evaluate run/ --split valid --ais-chains 2 --ais-betas 16000")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("records_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click_options(EvaluateConfig)
@verbosity
def evaluate_command(run_dir: Path, records_dir: Path | None, **settings) -> None:
    """NLL per time step (AIS) and frame accuracy of RUN_DIR on a split of RECORDS_DIR.

    RECORDS_DIR defaults to the records the run was trained on. Prints a table (with the paper's
    figures for a standard benchmark) and writes RUN_DIR/eval-<split>.json.
    """
    config = _settings(EvaluateConfig, settings)
    from pianorbm.model.run_folder import RunFolderError, check_source

    with _reported(RunFolderError, exit_code=2):  # RUN names no run: a usage mistake
        check_source(run_dir)
    _import_tensorflow()
    from pianorbm.model.evaluate import EvaluationError, evaluate_run
    from pianorbm.model.evaluation_table import result_table

    if config.weights == "latest":
        click.echo("scoring the latest checkpoint's raw weights, not the moving average of the weights that validation "
                   "chose and best.weights.h5 holds (--weights best)", err=True)
    with _reported(EvaluationError):
        result = evaluate_run(run_dir, records_dir, config, progress=_progress_bar("evaluate", "frame"))
    click.echo(result_table(result))


@main.command("compare", epilog="\b\nExamples:\n  pianorbm compare run-gru/ run-rnn/")
@click.argument("run_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", type=click.Choice(["train", "valid", "test"]), default="test", show_default=True,
              help="The split both runs were evaluated on.")
@verbosity
def compare_command(run_a: Path, run_b: Path, split: str) -> None:
    """RUN_A minus RUN_B, frame by frame on the same evaluated frames, with paired intervals.

    Reads the per-frame figures `pianorbm evaluate` keeps beside eval-<split>.json; both runs must
    have been evaluated on the same pieces (same records, split and --pieces).
    """
    from pianorbm.model.compare import ComparisonError, compare_runs, comparison_table

    with _reported(ComparisonError):
        result = compare_runs(run_a, run_b, split)
    click.echo(comparison_table(result, str(run_a), str(run_b)))


@main.command("export", epilog="\b\nExamples:\n  pianorbm export run/ model.keras")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("model_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--weights", type=click.Choice(["best", "latest"]), default="best",
              help="The best weights by validation, or the latest checkpoint.")
@verbosity
def export_command(run_dir: Path, model_file: Path, weights: str) -> None:
    """Write the model of RUN_DIR as one MODEL_FILE (.keras) with its data description.

    `pianorbm sample MODEL_FILE OUT` samples from it, and keras.saving.load_model reads it after
    `import model.rnn_rbm`.
    """
    from pianorbm.model.run_folder import RunFolderError, check_model_file_name, check_source

    try:
        check_model_file_name(model_file)
    except RunFolderError as err:
        raise click.UsageError(str(err)) from None
    with _reported(RunFolderError, exit_code=2):  # RUN names no run: a usage mistake
        check_source(run_dir)
    _import_tensorflow()
    from pianorbm.model.export import export_run

    with _reported(RunFolderError):
        export_run(run_dir, model_file, weights)
    click.echo(f"{model_file}: {model_file.stat().st_size / 1024:.0f} KiB, {weights} weights of {run_dir}")


@main.command("pipeline", epilog="\b\nExamples:\n  pianorbm pipeline                      (the Bach-chorale demo into demo/)\n  pianorbm pipeline my.toml --out my-run/")
@click.argument("config", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [the config's pipeline.out].")
@verbosity
def pipeline_command(config: Path | None, out: Path | None) -> None:
    """Run corpus export -> curate -> build-records -> train -> sample (-> evaluate) from CONFIG.

    CONFIG is a TOML or YAML file with one section per stage, whose keys are the stages' option
    names with underscores; without it, the bundled pipelines/configs/bach-chorales.toml runs. Every
    value is checked before the first stage runs. Stages whose outputs are up to date with their
    inputs and settings are skipped, so a rerun after an interruption or a config change does only
    what is needed. Writes OUT/report.html.
    """
    from pianorbm.pipelines.pipeline_config import PipelineConfigError, load_pipeline_config

    with _reported(PipelineConfigError, exit_code=2):
        settings = load_pipeline_config(config, out)
    _import_tensorflow()
    from pianorbm.pipelines.pipeline import PipelineError, run_pipeline

    with _reported(PipelineError):
        result = run_pipeline(settings, log=Output.log, progress=_progress_bar)
    ran = [o.stage for o in result.outcomes if o.status == "ran"]
    click.echo(f"ran: {', '.join(ran) or 'nothing (all up to date)'}; report: {result.layout.report}")


if __name__ == "__main__":
    main()
