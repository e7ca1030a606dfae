#!/usr/bin/env python3
"""pianorbm: curate MIDI, build piano-roll records, train and sample RNN-RBMs.

Commands stay thin: they turn options into a config, call one library function and print a
summary. Heavy imports (TensorFlow, music21) happen inside the commands that need them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _progress_bar(description: str, quiet: bool):
    if quiet:
        return None

    def make(total: int):
        from tqdm import tqdm

        return tqdm(total=total, desc=description, unit="file", dynamic_ncols=True, file=sys.stderr)

    return make


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
def curate_command(src: Path, dst: Path, piano_only: bool, extract_piano: bool, min_notes: int,
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
    config = CurateConfig(piano_only=piano_only, extract_piano=extract_piano, min_notes=min_notes,
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


if __name__ == "__main__":
    main()
