"""Curation and records on Apache Beam's DirectRunner (multi-process) equal the local runs, file for
file and byte for byte; hostile inputs stay isolated inside Beam's workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pianorbm.cli import main

pytest.importorskip("apache_beam", reason="the [beam] extra is not installed")

pytestmark = pytest.mark.slow


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def curated_both(shared_midi, tmp_path_factory):
    out = tmp_path_factory.mktemp("beam")
    _run("curate", "-q", "--piano-only", "--extract-piano", str(shared_midi), str(out / "local"))
    _run("curate", "-q", "--piano-only", "--extract-piano", "--runner", "DirectRunner", str(shared_midi),
         str(out / "beam"))
    return out / "local", out / "beam"


def test_beam_curation_equals_the_local_run(curated_both):
    local, beam = _files(curated_both[0]), _files(curated_both[1])
    assert sorted(local) == sorted(beam)  # the same clean files, manifest, summary, journal; no work files left
    assert [name for name in local if name != "curation.json" and local[name] != beam[name]] == []
    assert json.loads(local["curation.json"]) == json.loads(beam["curation.json"])
    manifest = local["manifest.csv"].decode()
    statuses = {line.split(",")[1] for line in manifest.splitlines()[1:]}
    assert {"kept", "rejected", "unreadable"} <= statuses  # malformed files were among the inputs
    assert sum(name.endswith(".mid") for name in local) > 50


def test_duplicates_are_decided_as_locally(shared_midi, tmp_path):
    """Copies of one piece under other names: the first path in sorted order keeps its clean copy."""
    pieces = sorted((shared_midi / "piano").glob("*.mid"))[:3]
    for folder in ("a", "b", "c"):
        for piece in pieces:
            (tmp_path / "raw" / folder).mkdir(parents=True, exist_ok=True)
            (tmp_path / "raw" / folder / piece.name).write_bytes(piece.read_bytes())
    _run("curate", "-q", "--piano-only", str(tmp_path / "raw"), str(tmp_path / "local"))
    _run("curate", "-q", "--piano-only", "--runner", "DirectRunner", str(tmp_path / "raw"), str(tmp_path / "beam"))
    local, beam = _files(tmp_path / "local"), _files(tmp_path / "beam")
    assert {name: data for name, data in local.items() if name != "curation.json"} == \
        {name: data for name, data in beam.items() if name != "curation.json"}
    manifest = local["manifest.csv"].decode()
    assert manifest.count(",duplicate,duplicate,a/") == 2 * len(pieces)  # b/ and c/ point to a/
    assert sorted(name for name in local if name.endswith(".mid")) == sorted(f"a/{p.name}" for p in pieces)


def test_beam_records_equal_the_local_build(curated_both, tmp_path):
    clean = curated_both[0]
    settings = ["--shards", "3", "--transpose", "-2..2"]
    _run("build-records", "-q", str(clean), str(tmp_path / "local"), *settings)
    _run("build-records", "-q", "--runner", "DirectRunner", str(clean), str(tmp_path / "beam"), *settings)
    local, beam = _files(tmp_path / "local"), _files(tmp_path / "beam")
    assert sorted(local) == sorted(beam) and sum(name.endswith(".tfrecord") for name in local) == 9
    assert all(local[name] == beam[name] for name in local if name.endswith(".tfrecord"))
    info_local, info_beam = (json.loads(files["dataset.json"]) for files in (local, beam))
    info_local.pop("seconds"), info_beam.pop("seconds")
    assert info_local == info_beam
    assert info_local["splits"]["train"]["examples"] > info_local["splits"]["train"]["pieces"]  # transposed copies
    again = _run("build-records", "--runner", "DirectRunner", str(clean), str(tmp_path / "beam"), *settings)
    assert "up to date" in again


def test_hostile_work_fails_alone_inside_beam_workers(tmp_path):
    """A crash, a hang and a memory blow-up inside Beam's workers each fail one element only."""
    from pianorbm.common.beam import (batched, beam_pipeline, import_beam, isolated_calls, pipeline_options,
                                        read_lines, write_lines)
    from tests.pool_tasks import dispatch

    beam = import_beam()
    tasks = [("ok", 1), ("crash", None), ("ok", 2), ("hang", 60), ("alloc", 4096), ("ok", 3)]

    def describe(item):
        args, outcome = item
        return {"task": list(args), "result": getattr(outcome, "kind", outcome)}

    prefix = str(tmp_path / "out")
    with beam_pipeline(pipeline_options("DirectRunner", jobs=2)) as pipeline:
        (pipeline | beam.Create(tasks) | batched(beam, "tasks")
         | beam.ParDo(isolated_calls(dispatch, timeout_s=3.0, memory_mb=512))
         | beam.Map(describe) | write_lines(beam, "results", prefix))
    results = {tuple(line["task"]): line["result"] for line in read_lines(prefix)}
    assert results == {("ok", 1): 2, ("ok", 2): 4, ("ok", 3): 6, ("crash", None): "crash", ("hang", 60): "timeout",
                       ("alloc", 4096): "memory"}


def test_beam_mistakes_are_clear_errors(shared_midi, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["curate", "--runner", "DirectRunner", "--beam-option", "no-equals-sign",
                               str(shared_midi), str(tmp_path / "out")])
    assert bad.exit_code == 1 and "--beam-option takes KEY=VALUE" in bad.output
    url = runner.invoke(main, ["curate", str(shared_midi), "gs://bucket/clean"])
    assert url.exit_code == 2 and "need --runner" in url.output
    pickle = runner.invoke(main, ["build-records", "--runner", "DirectRunner", "--from-pickle", __file__,
                                  str(tmp_path / "rec")])
    assert pickle.exit_code == 1 and "--runner builds from a curated folder" in pickle.output


def test_missing_beam_says_how_to_install(monkeypatch):
    import sys

    from pianorbm.common.beam import BeamSetupError, import_beam

    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(BeamSetupError, match=r"pip install 'pianorbm\[beam\]'"):
        import_beam()
