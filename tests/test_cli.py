import subprocess
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from cli import main
from tests.conftest import build_midi, scale_notes

REPO = Path(__file__).resolve().parents[1]


def test_curate_command_prints_a_summary_and_writes_the_manifest(tmp_path):
    build_midi(tmp_path / "raw" / "piano.mid", [{"name": "Piano", "program": 0, "notes": scale_notes()}])
    build_midi(tmp_path / "raw" / "band.mid", [{"name": "Piano", "notes": scale_notes()},
                                                {"name": "Drums", "channel": 9, "notes": scale_notes()}])
    (tmp_path / "raw" / "notes.txt").write_text("not a midi file, not an input")
    runner = CliRunner()
    result = runner.invoke(main, ["curate", "--piano-only", "-q", str(tmp_path / "raw"), str(tmp_path / "clean")])
    assert result.exit_code == 0, result.output
    assert "kept        ok" in result.output and "has_drums" in result.output and "total" in result.output
    manifest = pd.read_csv(tmp_path / "clean" / "manifest.csv")
    assert sorted(manifest.path) == ["band.mid", "piano.mid"]
    again = runner.invoke(main, ["curate", "--piano-only", "-q", str(tmp_path / "raw"), str(tmp_path / "clean")])
    assert "read 0 files" in again.output and "reused 2" in again.output


def test_curate_command_reports_user_mistakes_with_a_nonzero_exit(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["curate", str(tmp_path / "nowhere"), str(tmp_path / "out")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "raw").mkdir()
    inside = runner.invoke(main, ["curate", str(tmp_path / "raw"), str(tmp_path / "raw" / "out")])
    assert inside.exit_code == 1 and "inside the source folder" in inside.output
    empty = runner.invoke(main, ["curate", str(tmp_path / "raw"), str(tmp_path / "out")])
    assert empty.exit_code == 1 and "no MIDI files" in empty.output
    lonely = runner.invoke(main, ["curate", "--extract-piano", str(tmp_path / "raw"), str(tmp_path / "out")])
    assert lonely.exit_code == 2 and "--piano-only" in lonely.output


def test_parquet_manifest(tmp_path):
    build_midi(tmp_path / "raw" / "piano.mid", [{"name": "Piano", "notes": scale_notes()}])
    result = CliRunner().invoke(main, ["curate", "-q", "--manifest-format", "parquet", str(tmp_path / "raw"),
                                       str(tmp_path / "clean")])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "clean" / "manifest.parquet").status.tolist() == ["kept"]
    assert not (tmp_path / "clean" / "manifest.csv").exists()


def test_help_and_curate_do_not_import_tensorflow(tmp_path):
    build_midi(tmp_path / "raw" / "piano.mid", [{"name": "Piano", "notes": scale_notes()}])
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['cli.py'] + sys.argv[1:]\n"
        "try:\n    runpy.run_path('cli.py', run_name='__main__')\n"
        "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "print('TF-MODULES', len(loaded))\n"
    )
    for args in (["--help"], ["curate", "-q", str(tmp_path / "raw"), str(tmp_path / "clean")]):
        run = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "TF-MODULES 0" in run.stdout


def test_python_cli_py_works_from_a_checkout():
    run = subprocess.run([sys.executable, "cli.py", "--help"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0 and "curate" in run.stdout and "corpus" in run.stdout
