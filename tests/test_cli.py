import os
import subprocess
import sys
from pathlib import Path

import mido
import pandas as pd
import pytest
from click.testing import CliRunner

from pianorbm.cli import main
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


def test_every_setting_is_one_option_and_one_config_key_with_the_same_name():
    import dataclasses

    from pianorbm.common.settings import setting_names
    from pianorbm.curate.config import CurateConfig
    from pianorbm.model.config import EvaluateConfig, SampleConfig, TrainConfig
    from pianorbm.rolls.records_config import RecordsConfig

    commands = {"curate": CurateConfig, "build-records": RecordsConfig, "train": TrainConfig,
                "sample": SampleConfig, "evaluate": EvaluateConfig}
    for command, settings in commands.items():
        options = {p.name: p for p in main.commands[command].params}
        declared = setting_names(settings)
        assert declared == [f.name for f in dataclasses.fields(settings)]  # nothing undeclared
        for name in declared:
            assert name in options, (command, name)
            assert f"--{name.replace('_', '-')}" in options[name].opts + options[name].secondary_opts


def test_every_command_has_quiet_and_verbose():
    for name, command in main.commands.items():
        flags = {opt for p in command.params for opt in p.opts}
        assert {"-q", "--quiet", "-v", "--verbose"} <= flags, name


def test_a_bad_option_value_is_refused_before_any_work(tmp_path):
    runner = CliRunner()
    (tmp_path / "records").mkdir()
    bad = runner.invoke(main, ["evaluate", str(tmp_path), "--split", "bogus"])
    assert bad.exit_code == 2 and "'bogus' is not one of 'train', 'valid', 'test'" in bad.output
    assert bad.output.startswith("Error:")  # the first line is the error, the usage hint after it
    both = runner.invoke(main, ["sample", str(tmp_path), str(tmp_path / "out"), "--steps", "8", "--bars", "2"])
    assert both.exit_code == 2 and "--bars 2.0: give one of steps, bars, seconds" in both.output
    assert not (tmp_path / "out").exists()
    split = runner.invoke(main, ["build-records", "--from-pickle", __file__, str(tmp_path / "r"), "--split", "1,1,1"])
    assert split.exit_code == 2 and "three fractions" in split.output and not (tmp_path / "r").exists()


def test_errors_come_first_and_fast_tensorflow_is_not_imported_for_a_bad_config(tmp_path):
    """A bad value anywhere in a pipeline config fails before the first stage, before TensorFlow, as a usage mistake."""
    (tmp_path / "bad.toml").write_text('[corpus]\nmusic21 = "bach/bwv26*"\n[train]\nepochs = 5\n'
                                       '[sample]\nmode = "greedy"\n')
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['cli.py'] + sys.argv[1:]\n"
        "try:\n    runpy.run_path('cli.py', run_name='__main__')\n"
        "except SystemExit as stop:\n    code = stop.code\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'music21')]\n"
        "print('EXIT', code, 'HEAVY-MODULES', len(loaded))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe, "pipeline", str(tmp_path / "bad.toml"), "--out",
                          str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True)
    assert "EXIT 2 HEAVY-MODULES 0" in run.stdout, run.stdout + run.stderr
    first = run.stderr.splitlines()[0]
    assert first.startswith("Error:") and "bad.toml [sample] mode = 'greedy': one of sample, mean" in first
    assert not (tmp_path / "out").exists()


def test_a_failing_command_after_tensorflow_loads_shows_the_error_first(tmp_path, jsb_records):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stray.txt").write_text("not a run")
    run = subprocess.run([sys.executable, "cli.py", "train", str(jsb_records), str(tmp_path / "run")],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.splitlines()[0].startswith("Error:") and "holds no pianorbm run" in run.stderr, run.stderr
    assert "cuda" not in run.stderr.lower() and "oneDNN" not in run.stderr
    verbose = subprocess.run([sys.executable, "cli.py", "train", "-v", str(jsb_records), str(tmp_path / "run")],
                             cwd=REPO, capture_output=True, text=True)
    assert verbose.returncode == 1 and "holds no pianorbm run" in verbose.stderr


def test_ctrl_c_exits_130_and_leaves_no_half_written_file(tmp_path):
    import os
    import signal
    import time

    dst = tmp_path / "raw"
    # SIGINT as a terminal leaves it: a test run started in the background by a non-interactive shell
    # inherits it ignored, and so would the command
    process = subprocess.Popen([sys.executable, "cli.py", "corpus", "music21", "bach/chorales", str(dst), "-j", "1"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(dst.rglob("*.mid"))) < 2:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not [p for p in dst.rglob("*") if p.name.endswith(".partial")]
    exported = list(dst.rglob("*.mid"))
    assert 2 <= len(exported) < 349
    for path in exported:  # each one complete
        assert mido.MidiFile(path).length > 0


def test_curate_warns_when_nothing_is_kept(tmp_path):
    build_midi(tmp_path / "raw" / "band.mid", [{"name": "Violin", "program": 40, "notes": scale_notes()}])
    result = CliRunner().invoke(main, ["curate", "--piano-only", "-q", str(tmp_path / "raw"), str(tmp_path / "clean")])
    assert result.exit_code == 0 and "Warning: no file of 1 was kept" in result.output


def test_a_soundfont_that_cannot_be_used_is_a_usage_error_before_any_work(tmp_path):
    picture = tmp_path / "report.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    runner = CliRunner()
    given = runner.invoke(main, ["sample", "pretrained:jsb-chorales", str(tmp_path / "out"), "--soundfont", str(picture)])
    assert given.exit_code == 2 and "not a SoundFont" in given.output
    from_env = runner.invoke(main, ["sample", "pretrained:jsb-chorales", str(tmp_path / "out")],
                             env={"PIANORBM_SOUNDFONT": str(tmp_path / "gone.sf2")})
    assert from_env.exit_code == 2 and "($PIANORBM_SOUNDFONT): no such file" in from_env.output
    assert not (tmp_path / "out").exists()


def test_help_pages_are_complete_and_end_with_examples():
    import click

    runner = CliRunner()
    alone = runner.invoke(main, [])
    assert alone.exit_code == 0 and "Error" not in alone.output
    context = click.Context(main)
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        first_sentence = " ".join(command.help.split("\n\n")[0].split())
        assert first_sentence in " ".join(alone.output.split()), name  # the command list cuts nothing short
        page = runner.invoke(main, [name, "--help"], terminal_width=100)
        assert page.exit_code == 0
        examples = page.output.rstrip().split("Examples:")[-1].strip().splitlines()
        assert examples and all(line.strip().startswith("pianorbm " + name) for line in examples), name
        for option in command.params:
            if isinstance(option, click.Option):
                assert option.help, (name, option.opts)  # every option says what it does
                assert "nats" not in option.help and "NLL: " not in option.help, (name, option.opts)  # notes: docs/
    records = runner.invoke(main, ["build-records", "--help"], terminal_width=200).output
    assert "LOW..HIGH" in records and "[default: 0..0]" in records  # a default in its option's own syntax


def test_a_missing_input_is_a_usage_mistake_in_every_command(tmp_path):
    runner = CliRunner()
    missing = str(tmp_path / "missing")
    for args in (["curate", missing, "out"], ["build-records", missing, "out"], ["train", missing, "run"],
                 ["sample", missing, "out"], ["evaluate", missing], ["export", missing, "m.keras"],
                 ["compare", missing, missing], ["pipeline", missing + ".toml"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and result.output.startswith("Error"), (args, result.output)


def test_in_python_tensorflow_starts_quietly_unless_asked(tmp_path):
    code = ("from pianorbm.model.rnn_rbm import RnnRbm\n"
            "from pianorbm.model.generate import generate_rolls\n"
            "print(generate_rolls(RnnRbm(hidden=8, recurrent=4, cell='gru', k=2), 1, 4, seed=1).shape)\n")
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    loud = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert quiet.returncode == loud.returncode == 0, quiet.stderr + loud.stderr
    assert quiet.stdout == loud.stdout == "(1, 4, 88)\n"
    if not loud.stderr.strip():
        pytest.skip("this TensorFlow prints nothing at start-up, asked or not")
    assert quiet.stderr == ""  # held back; shown where the user asks with TF_CPP_MIN_LOG_LEVEL
