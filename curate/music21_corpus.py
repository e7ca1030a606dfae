"""Export works of music21's bundled corpus to MIDI: a real raw folder with nothing downloaded.

music21 ships about 3,000 encoded works inside its package (Bach chorales, keyboard works,
quartets, folk songs...). Two export modes:

- ``keyboard`` (default): every part is given music21's Piano instrument, so each score becomes a
  keyboard reduction (program 0, track named "Piano"): what a piano model should learn from.
- ``original``: the score's own instruments. Parts that name no instrument are written by music21
  as program 0 anyway (with the part's name, e.g. "Soprano", as the track name), which is exactly
  the trap piano-only curation has to see through.

music21 writes 10080 ticks per quarter note. Works that fail to export (some encodings have
malformed repeats) are reported and skipped. Files that hold several pieces (opus files, e.g.
folk-song collections) give one MIDI file per piece, ``name-001.mid`` and so on; a piece that fails
is listed in its work's row (``failed_pieces``, with its reason) and the others are written.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pianorbm.common.files import write_text_atomic
from pianorbm.common.isolation import Failure, IsolatedPool
from pianorbm.common.journal import appending, read_journal

EXPORT_MODES = ("keyboard", "original")
EXPORT_SUMMARY = "corpus.json"
EXPORT_JOURNAL = ".corpus-journal.jsonl"  # one line per finished work, until the summary is written


def corpus_root() -> Path:
    import music21.corpus

    return Path(music21.corpus.__file__).parent


def find_works(query: str) -> list[str]:
    """Corpus paths (relative to the corpus root) matching ``query``.

    ``query`` is a named collection (``bach/chorales``), a glob over relative paths
    (``beethoven/opus18*``), or a path prefix (``schumann_clara``).
    """
    from music21 import corpus

    root = corpus_root()
    if query == "bach/chorales":
        from music21.corpus.chorales import Iterator

        works = [_preferred(corpus.getWork(name)) for name in Iterator(returnType="filename")]
        return sorted({Path(str(w)).relative_to(root).as_posix() for w in works if w})
    paths = [Path(str(p)).relative_to(root).as_posix() for p in corpus.getPaths()]
    query = query.strip("/")
    return sorted(p for p in paths if fnmatch.fnmatch(p, query) or fnmatch.fnmatch(p, query + ".*")
                  or p.startswith(query + "/") or p.split(".")[0] == query)


def _preferred(found):
    """One path for a work music21 holds in several encodings: MusicXML first."""
    if not isinstance(found, list):
        return found
    return sorted(found, key=lambda path: (Path(str(path)).suffix != ".mxl", str(path)))[0] if found else None


def _output_stem(work: str) -> str:
    stem = work
    for suffix in (".mxl", ".xml", ".musicxml", ".krn", ".abc", ".mid", ".midi", ".md", ".rntxt"):
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)]
    return stem.rsplit(".", 1)[0]


def _as_keyboard(score) -> None:
    from music21 import instrument

    for part in score.parts:
        for old in list(part.recurse().getElementsByClass(instrument.Instrument)):
            old.activeSite.remove(old)
        part.insert(0, instrument.Piano())


def output_stems(works: list[str]) -> dict[str, str]:
    """Each work's output name without suffix: its path without the encoding's suffix, unless another
    work of the list has the same (a work music21 holds in two encodings, bwv281.krn and .mxl), then
    with it (bwv281-krn, bwv281-mxl), so that no two works write one file."""
    stems = {work: _output_stem(work) for work in works}
    shared = {stem for stem in stems.values() if list(stems.values()).count(stem) > 1}
    return {work: f"{stem}-{work.rsplit('.', 1)[-1].lower()}" if stem in shared else stem
            for work, stem in stems.items()}


def export_work(root: str, work: str, dst: str, mode: str, stem: str | None = None) -> dict:
    """Parses one corpus work and writes its MIDI file(s) atomically, named ``stem`` (by default the
    work's path without its suffix); returns a summary row."""
    from music21 import converter, stream
    from music21.midi.translate import streamToMidiFile

    from pianorbm.common.files import write_bytes_atomic

    parsed = converter.parse(os.path.join(root, work))
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    stem = stem or _output_stem(work)
    outputs, failed = [], []
    for index, score in enumerate(scores, start=1):
        try:
            if mode == "keyboard":
                _as_keyboard(score)
            midi = streamToMidiFile(score).writestr()
        except Exception as err:  # noqa: BLE001 - one malformed piece of a collection costs only itself
            if len(scores) == 1:
                raise
            failed.append({"piece": index, "error": f"{type(err).__name__}: {err}"})
            continue
        name = f"{stem}-{index:03d}.mid" if len(scores) > 1 else f"{stem}.mid"
        write_bytes_atomic(Path(dst) / name, midi)
        outputs.append(name)
    if failed and not outputs:
        raise ValueError(f"none of its {len(scores)} pieces could be written; the first: {failed[0]['error']}")
    return {"work": work, "status": "exported", "outputs": outputs, **({"failed_pieces": failed} if failed else {})}


@dataclass
class ExportResult:
    works: list[dict]  # one row per work: status exported or failed, outputs, error
    skipped: int  # works done by an earlier run: exported, or failed and not retried


def export_corpus(query: str, dst: Path, *, mode: str = "keyboard", jobs: int | None = None,
                  timeout_s: float = 300.0, progress=None, retry_failed: bool = False) -> ExportResult:
    """Exports every work matching ``query`` into ``dst``; works already exported are skipped,
    those of an interrupted run included (each finished work is journalled at once). A work that
    failed in an earlier run keeps its row and is not tried again unless ``retry_failed``.

    Writes the rows with the settings to ``dst/corpus.json``.
    """
    if mode not in EXPORT_MODES:
        raise ValueError(f"unknown export mode {mode!r}; choose one of {EXPORT_MODES}")
    works = find_works(query)
    if not works:
        raise LookupError(f"no work of music21's corpus matches {query!r}")
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    journal_path = dst / EXPORT_JOURNAL
    previous = {}
    if (dst / EXPORT_SUMMARY).exists():
        saved = json.loads((dst / EXPORT_SUMMARY).read_text())
        previous = {row["work"]: row for row in saved.get("works", []) if saved.get("mode") == mode}
    # works finished by a run that was stopped before it wrote the summary
    previous.update({work: row for work, row in read_journal(journal_path, "work").items() if row.get("mode") == mode})
    rows, todo = [], []
    for work in works:
        done = previous.get(work)
        exported = done and done["status"] == "exported" and all((dst / name).exists() for name in done["outputs"])
        if exported or (done and done["status"] == "failed" and not retry_failed):
            rows.append({name: value for name, value in done.items() if name != "mode"})
        else:
            todo.append(work)
    root = str(corpus_root())
    bar = progress(len(todo)) if progress else None
    pool = IsolatedPool(export_work, jobs or os.cpu_count() or 1, timeout_s, memory_mb=0)
    with appending(journal_path) as journal:
        stems = output_stems(works)
        for _, args, outcome in pool.map([(root, work, str(dst), mode, stems[work]) for work in todo]):
            if isinstance(outcome, Failure):
                outcome = {"work": args[1], "status": "failed", "outputs": [], "error": outcome.detail}
            rows.append(outcome)
            journal({**outcome, "mode": mode})
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    rows.sort(key=lambda row: row["work"])
    import music21

    summary = {"stage": "corpus", "source": f"music21 {music21.__version__} corpus", "query": query,
               "mode": mode, "ticks_per_beat": 10080, "works": rows}
    write_text_atomic(dst / EXPORT_SUMMARY, json.dumps(summary, indent=2) + "\n")
    journal_path.unlink(missing_ok=True)  # the summary holds every row now
    return ExportResult(rows, len(works) - len(todo))
