"""The pipeline end to end on a handful of chorales with a tiny model, its skipping, its config
file, and its report rendered in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import mido
import pytest

from pianorbm.model.run_folder import read_history
from pianorbm.pipelines.pipeline import run_pipeline
from pianorbm.pipelines.pipeline_config import DEFAULT_CONFIG, PipelineConfigError, load_pipeline_config

REPO = Path(__file__).resolve().parents[1]
TINY = """
[pipeline]
out = "unused"
[corpus]
music21 = "bach/bwv26*"
[curate]
piano_only = true
[records]
steps_per_quarter = 2
split = [0.6, 0.2, 0.2]
[train]
hidden = 16
recurrent = 8
k = 2
epochs = {epochs}
seq_len = 8
batch_size = 8
image_every = 0
[sample]
num_outputs = {outputs}
steps = 32
k = 5
[evaluate]
ais_chains = 4
ais_betas = 20
accuracy_chains = 2
accuracy_burn_in = 2
accuracy_samples = 2
"""


def _config(tmp: Path, out: Path, epochs: int = 2, outputs: int = 2, name: str = "tiny.toml"):
    path = tmp / name
    path.write_text(TINY.format(epochs=epochs, outputs=outputs))
    return load_pipeline_config(path, out)


def _statuses(result) -> dict[str, str]:
    return {o.stage: o.status for o in result.outcomes}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    out = tmp / "out"
    result = run_pipeline(_config(tmp, out), log=lambda _: None)
    return tmp, out, result


def test_pipeline_runs_every_stage_into_self_describing_folders(finished):
    _, out, result = finished
    assert _statuses(result) == dict.fromkeys(["corpus", "curate", "records", "train", "sample", "evaluate"], "ran")
    assert len(list((out / "raw").rglob("*.mid"))) == 11
    curation = json.loads((out / "clean" / "curation.json").read_text())
    assert curation["counts"] == {"kept": 11}
    info = json.loads((out / "records" / "dataset.json").read_text())
    assert all(info["splits"][s]["pieces"] > 0 for s in ("train", "valid", "test"))
    assert json.loads((out / "run" / "state.json").read_text())["finished"] == "completed"
    samples = json.loads((out / "samples" / "samples.json").read_text())
    for output in samples["outputs"]:  # playable: real MIDI files with notes
        midi = mido.MidiFile(out / "samples" / output["midi"])
        assert sum(m.type == "note_on" and m.velocity > 0 for m in midi) > 0
    assert json.loads((out / "run" / "eval-test.json").read_text())["frames"] == info["splits"]["test"]["frames"]
    assert (out / "report.html").stat().st_size > 0


def test_a_copied_output_folder_redoes_only_what_its_settings_change(finished, tmp_path):
    """`cp -r` (new places, new modification times) then one sample setting changed: only sampling runs."""
    import subprocess

    tmp, out, _ = finished
    copy = tmp_path / "moved" / "out"
    copy.parent.mkdir()
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    for path in [copy / "pipeline.json", *copy.rglob("*.json")]:  # nothing inside points back at the original
        assert str(out) not in path.read_text(), path
    text = TINY.format(epochs=2, outputs=2).replace("[sample]\n", "[sample]\nmode = \"argmax\"\n")
    (tmp_path / "argmax.toml").write_text(text)
    moved = run_pipeline(load_pipeline_config(tmp_path / "argmax.toml", copy), log=lambda _: None)
    assert _statuses(moved) == {"corpus": "skipped", "curate": "skipped", "records": "skipped", "train": "skipped",
                                "sample": "ran", "evaluate": "skipped"}
    assert json.loads((copy / "samples" / "samples.json").read_text())["run"] == "../run"
    assert len(list(copy.rglob("*.mid"))) > 0 and (copy / "report.html").exists()


def test_rerun_skips_up_to_date_stages_and_redoes_only_what_changed(finished):
    tmp, out, _ = finished
    sample_mtime = (out / "samples" / "sample-000.mid").stat().st_mtime_ns
    again = run_pipeline(_config(tmp, out), log=lambda _: None)
    assert set(_statuses(again).values()) == {"skipped"}
    assert (out / "samples" / "sample-000.mid").stat().st_mtime_ns == sample_mtime

    more_samples = run_pipeline(_config(tmp, out, outputs=3), log=lambda _: None)
    assert _statuses(more_samples) == {"corpus": "skipped", "curate": "skipped", "records": "skipped",
                                       "train": "skipped", "sample": "ran", "evaluate": "skipped"}
    assert len(list((out / "samples").glob("sample-*.mid"))) == 3

    longer = run_pipeline(_config(tmp, out, epochs=3, outputs=3), log=lambda _: None)
    assert _statuses(longer) == {"corpus": "skipped", "curate": "skipped", "records": "skipped",
                                 "train": "ran", "sample": "ran", "evaluate": "ran"}
    state = json.loads((out / "run" / "state.json").read_text())
    assert state["epoch"] == 3 and len(read_history(out / "run")) == 3  # extended, not started over


def test_a_pretrained_model_is_sampled_beside_the_run_for_the_report(finished):
    tmp, out, _ = finished
    text = TINY.format(epochs=3, outputs=3).replace('out = "unused"', 'out = "unused"\ncompare_pretrained = "jsb-chorales"')
    (tmp / "compare.toml").write_text(text)
    result = run_pipeline(load_pipeline_config(tmp / "compare.toml", out), log=lambda _: None)
    assert _statuses(result)["compare"] == "ran" and _statuses(result)["train"] == "skipped"
    page = (out / "report.html").read_text()
    assert "pretrained:jsb-chorales" in page and "pretrained-samples/sample-000.png" in page
    own, shipped = page.split("This run&#x27;s samples as music")[1].split("pretrained:jsb-chorales&#x27;s samples as music")
    assert "<table" in own and "<table" in shipped  # each set of samples beside its own model's data, not one table
    assert "shipped with the pretrained model" in shipped and "shipped with the pretrained model" not in own
    assert page.count("<audio") == page.count('preload="metadata"')  # players show their length (where audio is)
    assert '<meta name="viewport"' in page
    shutil.rmtree(out / "pretrained-samples")  # the later tests of this module run without it


def test_a_deleted_output_is_rebuilt(finished):
    tmp, out, _ = finished
    shutil.rmtree(out / "samples")
    result = run_pipeline(_config(tmp, out, epochs=3, outputs=3), log=lambda _: None)
    assert _statuses(result)["sample"] == "ran" and _statuses(result)["train"] == "skipped"
    assert (out / "samples" / "samples.json").exists()


def test_a_run_killed_before_recording_its_stages_redoes_no_work(finished):
    tmp, out, _ = finished
    config = _config(tmp, out, epochs=3, outputs=3)
    run_pipeline(config, log=lambda _: None)
    history = (out / "run" / "history.csv").read_bytes()
    samples = {p.name: p.read_bytes() for p in (out / "samples").glob("sample-*.mid")}
    (out / "pipeline.json").unlink()  # as if killed after the stages' work but before the pipeline's record
    messages = []
    result = run_pipeline(config, log=messages.append)
    assert set(_statuses(result).values()) == {"ran"}
    assert any("nothing to do" in m for m in messages)  # training found its run finished
    assert (out / "run" / "history.csv").read_bytes() == history
    assert {p.name: p.read_bytes() for p in (out / "samples").glob("sample-*.mid")} == samples  # same seed
    assert set(_statuses(run_pipeline(config, log=lambda _: None)).values()) == {"skipped"}


def _browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    executable = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if executable is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    return playwright, executable


def test_report_renders_every_section_in_headless_chromium(finished, tmp_path):
    tmp, out, _ = finished
    playwright, executable = _browser()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto((out / "report.html").resolve().as_uri())
        page.wait_for_load_state("load")
        heights = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('section')]
            .map(s => [s.id, s.getBoundingClientRect().height]))""")
        images = page.evaluate("""() => [...document.images].map(i => [i.getAttribute('src'), i.complete,
            i.naturalWidth, i.getBoundingClientRect().height])""")
        charts = page.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(s =>
            [s.getAttribute('aria-label'), s.getBoundingClientRect().width, s.querySelectorAll('rect, polyline').length])""")
        links = page.evaluate("() => [...document.querySelectorAll('a[href$=\".mid\"]')].map(a => a.href)")
        muted = page.evaluate("() => [...document.querySelectorAll('section p.muted')].map(p => p.textContent)")
        audio = page.evaluate("() => [...document.querySelectorAll('audio')].map(a => a.getAttribute('src'))")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert set(heights) == {"stages", "curation", "corpus", "dataset", "training", "evaluation", "samples"}
    assert all(h > 50 for h in heights.values()), heights
    # 3 samples and a reference piece of the training data
    assert len(images) == 4 and all(complete and width > 0 and shown > 0 for _, complete, width, shown in images), images
    # pitches, lengths, monitor, cost, validation NLL
    assert len(charts) == 5 and all(width > 100 and marks > 0 for _, width, marks in charts), charts
    assert len(links) >= 3 and all(Path(mido.MidiFile(link.removeprefix("file://")).filename).exists() for link in links)
    assert not any("has not run" in text for text in muted), muted
    assert (tmp_path / "report.png").stat().st_size > 10_000
    summary = json.loads((out / "samples" / "samples.json").read_text())
    if not any(w.startswith("no audio") for w in summary["warnings"]):  # a player per piece, each file there
        assert len(audio) == 4 and all((out / src).stat().st_size > 1000 for src in audio), audio


def test_report_of_a_pipeline_that_has_not_run_says_so_per_section(tmp_path):
    from pianorbm.pipelines.pipeline import Layout
    from pianorbm.pipelines.report import write_report

    config = load_pipeline_config(None, tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    page = write_report(Layout(tmp_path / "empty"), config).read_text()
    for anchor in ("stages", "curation", "corpus", "dataset", "training", "evaluation", "samples"):
        assert f'<section id="{anchor}">' in page
    assert "train has not run yet" in page and "sample has not run yet" in page


def test_report_draws_what_there_is_of_an_interrupted_run(tmp_path):
    from pianorbm.pipelines.pipeline import Layout
    from pianorbm.pipelines.report import write_report

    config = load_pipeline_config(None, tmp_path / "out")
    run = tmp_path / "out" / "run"
    run.mkdir(parents=True)
    (run / "train.json").write_text("{}")
    (run / "history.csv").write_text("\n")  # a run stopped before its first epoch
    (run / "state.json").write_text('{"epoch": 0, "best_validation": null}')
    (tmp_path / "out" / "clean").mkdir()
    (tmp_path / "out" / "clean" / "curation.json").write_text("{}")  # no manifest yet
    (tmp_path / "out" / "samples").mkdir()
    (tmp_path / "out" / "samples" / "samples.json").write_text('{"outputs": "not a list"}')
    page = write_report(Layout(tmp_path / "out"), config).read_text()
    assert "train has not finished an epoch yet" in page and "No curation here" in page
    assert 'id="samples"' in page and "Could not be drawn from what is there" in page


def test_default_config_is_the_bach_chorale_demo():
    config = load_pipeline_config()
    assert config.source == "music21" and config.location == "bach/chorales"
    assert config.curate.piano_only and config.records.transpose == (-3, 3) and config.evaluate is None
    assert DEFAULT_CONFIG.is_file()


@pytest.mark.parametrize("path", sorted(DEFAULT_CONFIG.parent.glob("*.toml")), ids=lambda p: p.name)
def test_every_bundled_config_loads(path, monkeypatch, tmp_path):
    from tests.conftest import SHARED_DATA

    monkeypatch.chdir(tmp_path)  # relative paths are relative to the current folder
    if "benchmark = " in path.read_text():
        shared = SHARED_DATA / "benchmarks"
        if not shared.is_dir():
            pytest.skip("the benchmark pickles live in ../shared, absent here")
        # where `pianorbm corpus benchmark NAME benchmarks/` puts them
        (tmp_path / "benchmarks").symlink_to(shared, target_is_directory=True)
    config = load_pipeline_config(path)
    assert config.train.epochs >= 1


def test_yaml_config_reads_like_toml(tmp_path, monkeypatch):
    (tmp_path / "some" / "midi").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # relative paths are relative to the current folder
    (tmp_path / "c.yaml").write_text(textwrap.dedent("""
        corpus: {folder: some/midi}
        records: {transpose: "-2..2", dt: 0.05}
        train: {cell: lstm, epochs: 4}
        evaluate: {}
    """))
    config = load_pipeline_config(tmp_path / "c.yaml")
    assert (config.source, config.location) == ("folder", "some/midi")
    assert config.records.transpose == (-2, 2) and config.records.dt == 0.05 and config.records.steps_per_quarter is None
    assert config.train.cell == "lstm" and config.train.epochs == 4 and config.evaluate.split == "test"


@pytest.mark.parametrize("text, message", [
    ("[trian]\nepochs = 3\n", "unknown section [trian]; known: pipeline, corpus"),
    ("[train]\nepoch = 3\n", "[train] epoch = 3: unknown setting; known: cell, hidden"),
    ("[train]\nepochs = \"3\"\n", "[train] epochs = '3': an integer of at least 1"),
    ("[train]\nepochs = -3\n", "[train] epochs = -3: an integer of at least 1"),
    ("[train]\ncell = \"transformer\"\n", "[train] cell = 'transformer': one of rnn, gru, lstm"),
    ("[sample]\nmode = \"greedy\"\n", "[sample] mode = 'greedy': one of sample, mean, argmax, top-n"),
    ("[sample]\nsteps = 10\nbars = 2\n", "[sample] bars = 2.0: give one of steps, bars, seconds"),
    ("[sample]\nprimer_pitches = [60, 200]\n", "[sample] primer_pitches = [60, 200]: MIDI pitches from 21 to 108"),
    ("[sample]\nprimer = \"no/such.mid\"\n", "[sample] primer = 'no/such.mid': a MIDI file that exists"),
    ("[curate]\nmax_file_mb = -1\n", "[curate] max_file_mb = -1: a number above 0"),
    ("[curate]\nextract_piano = true\n", "[curate] extract_piano = True: only with piano_only"),
    ("[curate]\ntimeout_s = 3\n", "[curate] timeout_s = 3: unknown setting; known:"),
    ("[records]\ntranspose = [3, -3]\n", "[records] transpose = [3, -3]: a range low..high"),
    ("[records]\nsplit = [0.5, 0.6, 0.1]\n", "[records] split = [0.5, 0.6, 0.1]: three fractions"),
    ("[records]\nout_of_range = \"clip\"\n", "[records] out_of_range = 'clip': one of drop, fold"),
    ("[evaluate]\nsplit = \"bogus\"\n", "[evaluate] split = 'bogus': one of train, valid, test"),
    ("[corpus]\nmusic21 = \"bach\"\nfolder = \"x\"\n", "give exactly one of"),
    ("[corpus]\nfolder = \"no/such/folder\"\n", "[corpus] folder = 'no/such/folder': a folder that exists"),
    ("[train\n", "not valid TOML"),
])
def test_config_mistakes_name_the_key(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(PipelineConfigError, match=None) as caught:
        load_pipeline_config(tmp_path / "bad.toml")
    assert message in str(caught.value) and "bad.toml" in str(caught.value)


def test_cli_pipeline_reports_config_mistakes_without_traceback(tmp_path):
    from click.testing import CliRunner

    from pianorbm.cli import main

    (tmp_path / "bad.toml").write_text("[train]\nepoch = 3\n")
    result = CliRunner().invoke(main, ["pipeline", str(tmp_path / "bad.toml")])
    assert result.exit_code == 2 and "[train] epoch = 3: unknown setting" in result.output
    (tmp_path / "sourceless.toml").write_text("[train]\nepochs = 3\n")  # no [corpus]: never a silent default
    result = CliRunner().invoke(main, ["pipeline", str(tmp_path / "sourceless.toml")])
    assert result.exit_code == 2 and "no [corpus] section" in result.output and "music21, folder, benchmark" \
        in result.output


@pytest.mark.slow  # a second pipeline end to end
def test_a_benchmark_pickle_goes_straight_to_records_and_the_report_shows_the_paper(tmp_path):
    from tests.conftest import SHARED_DATA

    pickle_path = SHARED_DATA / "benchmarks" / "JSB Chorales.pickle"
    if not pickle_path.exists():
        pytest.skip(f"{pickle_path} not found (it lives beside the checkout, as in CI)")
    (tmp_path / "jsb.toml").write_text(textwrap.dedent(f"""
        [corpus]
        benchmark = "{pickle_path}"
        [train]
        hidden = 16
        recurrent = 8
        k = 2
        epochs = 1
        seq_len = 16
        image_every = 0
        [sample]
        num_outputs = 1
        steps = 16
        [evaluate]
        ais_chains = 2
        ais_betas = 10
        accuracy_chains = 1
        accuracy_burn_in = 1
        accuracy_samples = 1
    """))
    result = run_pipeline(load_pipeline_config(tmp_path / "jsb.toml", tmp_path / "out"), log=lambda _: None)
    assert [o.stage for o in result.outcomes] == ["records", "train", "sample", "evaluate"]
    info = json.loads((tmp_path / "out" / "records" / "dataset.json").read_text())
    assert info["steps_per_quarter"] == 1 and info["splits"]["test"]["frames"] == 4725  # the published split
    page = (tmp_path / "out" / "report.html").read_text()
    assert "6.27" in page and "No curation here" in page


def _readme_python_examples() -> list[str]:
    """Every ```python block of the README's "From Python" section, in order."""
    import re

    readme = (REPO / "README.md").read_text()
    section = readme.split("## From Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 5
    return blocks


def _check_examples_output(folder: Path, exported_grid: int) -> None:
    assert mido.MidiFile(folder / "generated.mid").length > 0
    assert exported_grid == 2
    assert len(list((folder / "more-samples").glob("sample-*.mid"))) == 2


def test_readme_python_examples_run_as_written(finished, tmp_path, monkeypatch):
    """The README's "From Python" examples, in order, on a demo-shaped folder."""
    _, out, _ = finished
    (tmp_path / "demo").symlink_to(out, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in _readme_python_examples():
        exec(compile(block, "README.md", "exec"), namespace)
    _check_examples_output(tmp_path, namespace["exported"].data_description["steps_per_quarter"])


@pytest.mark.slow
def test_the_wheel_installs_one_import_name_and_its_examples_run_beside_generic_names(finished, tmp_path):
    """The built wheel holds only ``pianorbm``; installed into a fresh virtual environment (its
    dependencies borrowed from this one), the README's examples run from a folder whose own
    ``model.py``, ``cli.py`` and ``common/`` would shadow generic top-level names."""
    import subprocess
    import sys
    import sysconfig
    import venv
    import zipfile

    _, out, _ = finished
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(dist), str(REPO)], check=True, capture_output=True)
    (wheel,) = dist.glob("pianorbm-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"pianorbm"}

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    # the dependencies, not pianorbm: this environment's pianorbm is an editable finder that a
    # plain path entry does not install
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    user = tmp_path / "user"
    (user / "common").mkdir(parents=True)
    for shadow in ("model.py", "cli.py", "common/__init__.py"):
        (user / shadow).write_text("raise ImportError('the user\\'s own module was imported')\n")
    (user / "demo").symlink_to(out, target_is_directory=True)
    script = "\n".join(_readme_python_examples()) + (
        "\nimport pianorbm, json\n"
        "print(json.dumps({'package': pianorbm.__file__, 'grid': exported.data_description['steps_per_quarter']}))\n")
    (user / "examples.py").write_text(script)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run([str(python), "examples.py"], cwd=user, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    facts = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(facts["package"]).is_relative_to(site)  # the wheel's copy, not the checkout
    _check_examples_output(user, facts["grid"])

    for name, found in (("pianorbm", True), ("model", False), ("cli", False), ("common", False), ("pipelines", False)):
        check = subprocess.run([str(python), "-c", f"import {name}"], cwd=tmp_path, capture_output=True, env=env)
        assert (check.returncode == 0) is found, (name, check.stderr[-500:])
    installed = {path.name for path in site.iterdir()} - {"dependencies.pth", "bin"}
    assert {name for name in installed if not name.endswith(".dist-info")} == {"pianorbm"}
    assert [path.name for path in (site / "bin").iterdir()] == ["pianorbm"]  # the console script


def test_the_demo_installs_only_what_it_runs_and_validates_at_the_cost_of_its_brief_run():
    import re

    makefile = (REPO / "Makefile").read_text()
    demo_stamp = re.search(r"^demo: (\S+)", makefile, flags=re.M).group(1)
    stamp_rule = makefile.split(f"\n{demo_stamp}:", 1)[1].split("\n\n", 1)[0]
    assert demo_stamp == "$(STAMP)" and "-e ." in stamp_rule and "[test" not in stamp_rule  # no test extras
    assert re.search(r"^test: \$\(TEST_STAMP\)", makefile, flags=re.M)
    demo = load_pipeline_config(DEFAULT_CONFIG)
    assert demo.source == "music21" and demo.train.epochs <= 5 and demo.train.validation == "quick"
