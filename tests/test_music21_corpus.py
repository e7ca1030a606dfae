import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pianorbm.cli import main
from pianorbm.curate.music21_corpus import EXPORT_JOURNAL, export_corpus, find_works

REPO = Path(__file__).resolve().parents[1]


def test_named_and_glob_queries_find_works():
    chorales = find_works("bach/chorales")
    assert len(chorales) > 300 and all(path.startswith("bach/bwv") for path in chorales)
    assert find_works("bach/bwv269*") == ["bach/bwv269.mxl"]
    assert len(find_works("schumann_clara")) >= 3


def test_export_then_curate_keeps_keyboard_parts_and_rejects_voices(tmp_path):
    runner = CliRunner()
    for mode in ("keyboard", "original"):
        result = runner.invoke(main, ["corpus", "music21", "bach/bwv26*", str(tmp_path / mode), "--parts", mode,
                                      "-q", "-j", "2"])
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / mode / "corpus.json").read_text())
        assert summary["mode"] == mode and all(row["status"] == "exported" for row in summary["works"])
        assert len(summary["works"]) >= 2
        curated = runner.invoke(main, ["curate", "--piano-only", "-q", str(tmp_path / mode), str(tmp_path / f"{mode}-clean")])
        assert curated.exit_code == 0, curated.output
    keyboard = pd.read_csv(tmp_path / "keyboard-clean" / "manifest.csv")
    original = pd.read_csv(tmp_path / "original-clean" / "manifest.csv")
    assert (keyboard.status == "kept").all() and (keyboard.ticks_per_beat == 10080).all()
    assert (original.reason == "no_piano").all()  # Soprano/Alto/Tenor/Bass tracks at program 0
    rerun = runner.invoke(main, ["corpus", "music21", "bach/bwv26*", str(tmp_path / "keyboard"), "-q"])
    assert "0 failed" in rerun.output and f"({len(keyboard)} done before)" in rerun.output


def _files(folder: Path) -> dict[str, bytes]:
    files = {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*.mid"))}
    assert files, f"no MIDI file under {folder}"
    return files


class _StopAfter:
    """A progress bar that stops the run (as Ctrl-C does) after ``count`` finished works."""

    def __init__(self, count: int):
        self.count = count

    def __call__(self, total):
        return self

    def update(self, done):
        self.count -= done
        if self.count <= 0:
            raise KeyboardInterrupt

    def close(self):
        pass


def test_an_interrupted_export_resumes_with_only_what_is_missing(tmp_path):
    whole = export_corpus("bach/bwv26*", tmp_path / "whole", jobs=2)
    with pytest.raises(KeyboardInterrupt):
        export_corpus("bach/bwv26*", tmp_path / "cut", jobs=1, progress=_StopAfter(4))
    assert not (tmp_path / "cut" / "corpus.json").exists()  # the summary is written at the end only
    resumed = export_corpus("bach/bwv26*", tmp_path / "cut", jobs=2)
    assert resumed.skipped == 4 and len(resumed.works) == len(whole.works) == 11
    assert _files(tmp_path / "cut") == _files(tmp_path / "whole")
    summary = json.loads((tmp_path / "cut" / "corpus.json").read_text())
    assert summary["works"] == json.loads((tmp_path / "whole" / "corpus.json").read_text())["works"]
    assert not (tmp_path / "cut" / EXPORT_JOURNAL).exists()
    assert export_corpus("bach/bwv26*", tmp_path / "cut", jobs=1).skipped == 11
    assert export_corpus("bach/bwv26*", tmp_path / "cut", mode="original", jobs=2).skipped == 0  # other parts


class _Totals:
    """A progress bar that records how many works each run had left to do."""

    def __init__(self):
        self.totals = []

    def __call__(self, total):
        self.totals.append(total)
        return self

    def update(self, done):
        pass

    def close(self):
        pass


def test_a_work_that_failed_is_kept_as_failed_until_a_retry_is_asked_for(tmp_path):
    bar = _Totals()
    first = export_corpus("mozart/k458/movement2*", tmp_path, mode="original", jobs=1, progress=bar)
    [row] = first.works
    assert row["status"] == "failed" and "repeat" in row["error"]  # its score's repeats are malformed
    rerun = export_corpus("mozart/k458/movement2*", tmp_path, mode="original", jobs=1, progress=bar)
    assert rerun.works == first.works and rerun.skipped == 1
    retried = export_corpus("mozart/k458/movement2*", tmp_path, mode="original", jobs=1, progress=bar,
                            retry_failed=True)
    assert retried.skipped == 0 and retried.works == first.works
    assert bar.totals == [1, 0, 1]


@pytest.mark.slow  # a real process, killed twice
def test_an_export_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
    command = [sys.executable, str(REPO / "cli.py"), "corpus", "music21", "bach/bwv2*", "-q", "-j", "1"]
    for _ in range(2):
        process = subprocess.Popen([*command, str(tmp_path / "cut")], start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline, before = time.monotonic() + 120, len(list((tmp_path / "cut").rglob("*.mid")))
        while time.monotonic() < deadline and len(list((tmp_path / "cut").rglob("*.mid"))) < before + 5:
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not (tmp_path / "cut" / "corpus.json").exists()
    journalled = (tmp_path / "cut" / EXPORT_JOURNAL).read_text().count('"status": "exported"')
    assert journalled >= 8
    resumed = subprocess.run([*command, str(tmp_path / "cut")], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({journalled} done before)" in resumed.stdout
    export_corpus("bach/bwv2*", tmp_path / "whole", jobs=2)
    assert _files(tmp_path / "cut") == _files(tmp_path / "whole")
    summary = json.loads((tmp_path / "cut" / "corpus.json").read_text())
    outputs = [name for row in summary["works"] for name in row["outputs"]]
    assert len(outputs) == len(set(outputs))  # bwv281.krn and bwv281.mxl each have a file of their own


def test_a_work_held_in_two_encodings_gets_two_files():
    from pianorbm.curate.music21_corpus import output_stems

    assert output_stems(["bach/bwv281.krn", "bach/bwv281.mxl", "bach/bwv282.mxl"]) == {
        "bach/bwv281.krn": "bach/bwv281-krn", "bach/bwv281.mxl": "bach/bwv281-mxl", "bach/bwv282.mxl": "bach/bwv282"}


def test_a_collection_with_malformed_pieces_keeps_the_others(tmp_path):
    """Essen's erk5.abc holds folk tunes of which music21 cannot write some (a time signature met twice):
    those are listed with their reason, the rest of the collection is written."""
    result = CliRunner().invoke(main, ["corpus", "music21", "essenFolksong/erk5.abc", str(tmp_path), "-q", "-j", "1"])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "corpus.json").read_text())["works"][0]
    assert row["status"] == "exported" and row["failed_pieces"] and row["outputs"]
    written = {int(name.rsplit("-", 1)[1][:3]) for name in row["outputs"]}
    failed = {piece["piece"] for piece in row["failed_pieces"]}
    assert not written & failed and all(piece["error"] for piece in row["failed_pieces"])
    assert sorted(written | failed) == list(range(1, len(written) + len(failed) + 1))  # every piece accounted for
    assert len(list(tmp_path.rglob("*.mid"))) == len(written)
    assert f"{len(failed)} pieces of collections failed" in result.output
