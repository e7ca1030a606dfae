"""``pianorbm corpus benchmark NAME DST``: a standard benchmark of Boulanger-Lewandowski et al.
(ICML 2012), downloaded from its original distribution when a user asks, and checked before use.

No SHA-256 of the original files is recorded anywhere this project could check it against (the
copies it tests with were rebuilt, frame for frame, from another distribution), so what is checked
is a SHA-256 of the music: standard_datasets.content_digest, over every split's sequences, steps and
sorted pitches. A file that holds the published music passes whatever its pickle protocol; a file
with other music is refused and not kept. A dataset whose digest is not recorded yet is kept and
described with its digests, marked unverified.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pianorbm.common.files import atomic_path, file_sha256, json_text, write_text_atomic
from pianorbm.rolls.standard_datasets import UnsafePickleError, content_digest, load_benchmark_pickle

ORIGINAL_SITE = "http://www-etud.iro.umontreal.ca/~boulanni/"
DESCRIPTION = "benchmarks.json"  # one entry per dataset downloaded into the folder
MAX_BYTES = 256 << 20  # the largest original (Nottingham) is a few MB: anything far larger is not one
CHUNK = 1 << 16


@dataclass(frozen=True)
class Benchmark:
    file: str  # its name in the original distribution
    content_sha256: str | None  # content_digest of the published music; None: not recorded yet


BENCHMARKS = {
    # measured on ../shared/data/benchmarks, frame for frame identical to the originals' content
    "jsb-chorales": Benchmark("JSB Chorales.pickle", "73f471836569dc7600b46951482f9207e4b915f14db066b64db1961586b352fe"),
    "nottingham": Benchmark("Nottingham.pickle", "a655c5c129b5cd3cf098b5f4bffc9803ad57e7304e4b18f677d193df8e869e02"),
    "musedata": Benchmark("MuseData.pickle", None),
    "piano-midi.de": Benchmark("Piano-midi.de.pickle", None),
}


class BenchmarkError(Exception):
    """The benchmark cannot be had as asked; the message says why and what to do."""


class UnknownBenchmark(BenchmarkError, LookupError):
    """A name that is none of BENCHMARKS."""


def benchmark_url(name: str) -> str:
    return ORIGINAL_SITE + urllib.request.quote(BENCHMARKS[name].file)


def _fetch(url: str, target: Path, timeout_s: float) -> str:
    """Streams ``url`` into ``target`` atomically, at most MAX_BYTES; returns the bytes' SHA-256."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, atomic_path(target, keep_suffix=True) as part:
            with open(part, "wb") as handle:
                size = 0
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise BenchmarkError(f"{url} sends more than {MAX_BYTES >> 20} MB: not a benchmark pickle")
                    digest.update(chunk)
                    handle.write(chunk)
    except (urllib.error.URLError, OSError) as err:
        reason = (f"HTTP {err.code}: {err.reason}" if isinstance(err, urllib.error.HTTPError)
                  else getattr(err, "reason", None) or err)
        raise BenchmarkError(f"could not download {url} ({reason}); check the network, or give --url the address "
                             "of a copy") from err
    return digest.hexdigest()


def download_benchmark(name: str, dst: Path, *, url: str | None = None, timeout_s: float = 60.0) -> dict:
    """Downloads benchmark ``name`` into ``dst`` (from ``url``, else its original address), checks its
    music against the recorded digest and describes it in ``dst/benchmarks.json``; returns that entry.
    A file already there and checked is not downloaded again."""
    if name not in BENCHMARKS:
        raise UnknownBenchmark(f"no benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    benchmark, dst = BENCHMARKS[name], Path(dst)
    description = dst / DESCRIPTION
    entries = json.loads(description.read_text()) if description.is_file() else {}
    target = dst / benchmark.file
    done = entries.get(name)
    if done and target.is_file() and done.get("sha256") == file_sha256(target):
        return {**done, "already_there": True}
    url = url or benchmark_url(name)
    dst.mkdir(parents=True, exist_ok=True)
    download = dst / f".{benchmark.file}.download"
    try:
        sha256 = _fetch(url, download, timeout_s)
        try:
            data = load_benchmark_pickle(download)
        except (ValueError, UnsafePickleError) as err:  # an unsafe one is refused before anything in it runs
            raise BenchmarkError(f"{url} is not a benchmark pickle: {err}") from err
        content = content_digest(data)
        if benchmark.content_sha256 and content != benchmark.content_sha256:
            raise BenchmarkError(f"{url} holds other music than the published {name} (content SHA-256 {content}, "
                                 f"expected {benchmark.content_sha256}); it is not kept")
        download.replace(target)
    finally:
        download.unlink(missing_ok=True)
    entry = {"name": name, "file": benchmark.file, "url": url, "sha256": sha256, "content_sha256": content,
             "verified": benchmark.content_sha256 is not None,
             "sequences": {split: len(data[split]) for split in data},
             "steps": {split: sum(len(sequence) for sequence in data[split]) for split in data}}
    write_text_atomic(description, json_text({**entries, name: entry}))
    return entry
