import json

import pandas as pd
from click.testing import CliRunner

from pianorbm.cli import main
from pianorbm.curate.music21_corpus import find_works


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
    assert "0 failed" in rerun.output and f"({len(keyboard)} already there)" in rerun.output
