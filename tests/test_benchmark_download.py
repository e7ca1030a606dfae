"""`pianorbm corpus benchmark`: downloads checked against a local HTTP server (no network here)."""

import functools
import json
import pickle
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from pianorbm.cli import main
from pianorbm.rolls.benchmark_download import (BENCHMARKS, BenchmarkError, UnknownBenchmark, benchmark_url,
                                               download_benchmark)
from pianorbm.rolls.standard_datasets import content_digest, load_benchmark_pickle
from tests.conftest import SHARED_DATA

JSB = SHARED_DATA / "benchmarks" / "JSB Chorales.pickle"


class _Quiet(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):
        _Quiet.requests.append(self.path)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/site; yields (site folder, base URL)."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Quiet.requests = []
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def jsb():
    if not JSB.exists():
        pytest.skip(f"{JSB} not found (it lives beside the checkout, as in CI)")
    return load_benchmark_pickle(JSB)


def test_a_download_is_checked_described_and_not_repeated(server, jsb, tmp_path):
    site, base = server
    # the same music in another pickle protocol and number type: other bytes, the same content
    (site / "copy.pickle").write_bytes(pickle.dumps({k: [[[float(p) for p in s] for s in q] for q in v]
                                                     for k, v in jsb.items()}, protocol=2))
    result = CliRunner().invoke(main, ["corpus", "benchmark", "jsb-chorales", str(tmp_path / "data"), "--url",
                                       f"{base}/copy.pickle"])
    assert result.exit_code == 0, result.output
    assert "train 229, valid 76, test 77 sequences; its music matches the published one" in result.output
    assert 'next: pianorbm build-records --from-pickle' in result.output
    saved = tmp_path / "data" / "JSB Chorales.pickle"
    assert content_digest(load_benchmark_pickle(saved)) == BENCHMARKS["jsb-chorales"].content_sha256
    entry = json.loads((tmp_path / "data" / "benchmarks.json").read_text())["jsb-chorales"]
    assert entry["verified"] and entry["steps"] == {"train": 13807, "valid": 4602, "test": 4725}
    assert [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".")] == []
    again = download_benchmark("jsb-chorales", tmp_path / "data", url=f"{base}/copy.pickle")
    assert again["already_there"] and _Quiet.requests == ["/copy.pickle"]  # one download in all


def test_other_music_an_unsafe_pickle_and_a_missing_file_are_refused_and_nothing_is_kept(server, jsb, tmp_path):
    site, base = server
    tampered = {k: [list(map(list, q)) for q in v] for k, v in jsb.items()}
    tampered["test"][0][0] = [60]
    (site / "tampered.pickle").write_bytes(pickle.dumps(tampered))
    (site / "unsafe.pickle").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    dst = tmp_path / "data"
    with pytest.raises(BenchmarkError, match="holds other music than the published jsb-chorales"):
        download_benchmark("jsb-chorales", dst, url=f"{base}/tampered.pickle")
    with pytest.raises(BenchmarkError, match="is not a benchmark pickle: refused to load os.system|posix.system"):
        download_benchmark("jsb-chorales", dst, url=f"{base}/unsafe.pickle")
    missing = CliRunner().invoke(main, ["corpus", "benchmark", "nottingham", str(dst), "--url", f"{base}/gone.pickle"])
    assert missing.exit_code == 1 and "could not download" in missing.output and "HTTP 404" in missing.output
    assert not dst.exists() or not any(dst.iterdir())
    with pytest.raises(UnknownBenchmark, match="known: jsb-chorales, nottingham, musedata, piano-midi.de"):
        download_benchmark("mozart", dst)


def test_without_a_network_the_reason_is_one_line(tmp_path):
    closed = "http://127.0.0.1:9/JSB%20Chorales.pickle"  # the discard port: nothing listens
    result = CliRunner().invoke(main, ["corpus", "benchmark", "jsb-chorales", str(tmp_path), "--url", closed])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "could not download" in result.output and "check the network" in result.output
    assert benchmark_url("jsb-chorales") == "http://www-etud.iro.umontreal.ca/~boulanni/JSB%20Chorales.pickle"


def test_an_unverified_benchmark_is_kept_and_says_so(server, jsb, tmp_path):
    site, base = server
    shutil.copy(JSB, site / "MuseData.pickle")  # stands in: no digest is recorded for MuseData
    result = CliRunner().invoke(main, ["corpus", "benchmark", "musedata", str(tmp_path), "--url",
                                       f"{base}/MuseData.pickle"])
    assert result.exit_code == 0 and "unverified: no digest is recorded for musedata yet" in result.output
    assert not json.loads((tmp_path / "benchmarks.json").read_text())["musedata"]["verified"]


def test_the_bundled_benchmark_configs_read_the_downloaded_file(tmp_path, monkeypatch):
    from pianorbm.pipelines.pipeline_config import DEFAULT_CONFIG, PipelineConfigError, load_pipeline_config

    monkeypatch.chdir(tmp_path)
    configs = {"jsb-chorales.toml": "JSB Chorales.pickle", "nottingham.toml": "Nottingham.pickle"}
    for name, file in configs.items():
        with pytest.raises(PipelineConfigError, match="`pianorbm corpus benchmark NAME FOLDER` downloads one"):
            load_pipeline_config(DEFAULT_CONFIG.parent / name)
        (tmp_path / "benchmarks").mkdir(exist_ok=True)
        (tmp_path / "benchmarks" / file).write_bytes(b"")  # where the download command puts it
        config = load_pipeline_config(DEFAULT_CONFIG.parent / name)
        assert config.source == "benchmark" and config.location == f"benchmarks/{file}"
        text = (DEFAULT_CONFIG.parent / name).read_text()
        assert f"pianorbm corpus benchmark {name.removesuffix('.toml')} benchmarks/" in text
