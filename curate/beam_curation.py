"""``pianorbm curate --runner NAME``: the same curation as a local run, as an Apache Beam pipeline.

List the inputs -> examine each file (curate.file_curation.examine_file, isolated in each
worker) -> group the kept files by content hash, the first path in sorted order keeps its clean
copy, the others become duplicates of it -> rows as sharded JSON lines -> near-duplicates grouped
from the rows' sketches (curate.curation.mark_near_duplicates, where the command runs) -> one
manifest and ``curation.json``, written by the command as a local run writes them. With the DirectRunner the
result equals a local run's: the same manifest rows and the same clean bytes (tested). Every run
examines every file (a local rerun resumes from the journal this writes; an engine retries failed
work itself).
"""

from __future__ import annotations

import time
from pathlib import Path

from pianorbm.common import storage
from pianorbm.curate.config import CurateConfig
from pianorbm.curate.curation import (CurationResult, CurationSetupError, check_paths, failure_row, find_inputs,
                                      mark_near_duplicates, remove_stale, write_outputs)
from pianorbm.curate.file_curation import DUPLICATE, KEPT, examine_file
from pianorbm.common.isolation import Failure
from pianorbm.curate.scores import clean_relpath
from pianorbm.common.beam import (batched, beam_pipeline, clear_lines, import_beam, isolated_calls, pipeline_options, read_lines,
                                    write_lines)

WORK_PREFIX = ".beam-curate/rows"


def _row(args_and_outcome, fingerprint: str):
    (src, relpath, _), outcome = args_and_outcome
    if isinstance(outcome, Failure):
        row, clean = failure_row(src, relpath, outcome), None
    else:
        row, clean = outcome
    row["config"] = fingerprint
    return row, clean


def _keep_first(group, dst: str):
    """The kept files of one content hash: the first path writes its clean copy, the rest point to it."""
    _, members = group
    members = sorted(members, key=lambda member: member[0]["path"])
    primary, clean = members[0]
    storage.write_bytes(storage.join(dst, clean_relpath(primary["path"])), clean)
    yield primary
    for row, _ in members[1:]:
        yield {**row, "status": DUPLICATE, "reason": "duplicate", "duplicate_of": primary["path"]}


def curate_with_beam(src, dst, config: CurateConfig, *, runner: str, beam_options: tuple[str, ...] = (),
                     jobs: int | None = None, manifest_format: str = "csv") -> CurationResult:
    """Curates ``src`` into ``dst`` (folders, or URL prefixes of the runner's filesystems) on Beam."""
    started = time.monotonic()
    src, dst = str(src), str(dst)
    options = pipeline_options(runner, beam_options, jobs)
    if not storage.is_url(src) and not Path(src).is_dir():
        raise CurationSetupError(f"source folder {src} does not exist or is not a folder")
    if not storage.is_url(src) and not storage.is_url(dst):
        check_paths(Path(src), Path(dst))
    inputs = find_inputs(src, config.input_suffixes())
    if not inputs:
        raise CurationSetupError(f"no input files ({', '.join(config.input_suffixes())}) found under {src}")
    if not storage.is_url(dst):
        Path(dst).mkdir(parents=True, exist_ok=True)
    work = storage.join(dst, WORK_PREFIX)
    clear_lines(work)
    fingerprint = config.fingerprint()
    beam = import_beam()
    with beam_pipeline(options) as pipeline:
        examined = (pipeline
                    | "list inputs" >> beam.Create([(src, path, config) for path in inputs])
                    | batched(beam, "inputs")
                    | "examine" >> beam.ParDo(isolated_calls(examine_file, config.timeout, config.memory_mb))
                    | "rows" >> beam.Map(_row, fingerprint))
        kept, others = examined | "kept?" >> beam.Partition(lambda item, _: 0 if item[0]["status"] == KEPT else 1, 2)
        deduplicated = (kept
                        | "by content" >> beam.Map(lambda item: (item[0]["content_hash"], item))
                        | "group duplicates" >> beam.GroupByKey()
                        | "keep first" >> beam.FlatMap(_keep_first, dst))
        ((deduplicated, others | "row only" >> beam.Map(lambda item: item[0]))
         | "all rows" >> beam.Flatten()
         | write_lines(beam, "rows", work))
    rows = {row["path"]: row for row in read_lines(work)}
    missing = [path for path in inputs if path not in rows]
    if missing:
        raise RuntimeError(f"the Beam pipeline returned no row for {len(missing)} inputs (first: {missing[0]})")
    dropped = mark_near_duplicates(rows, config)
    storage.delete([storage.join(dst, clean_relpath(path)) for path in dropped])
    if not storage.is_url(dst):
        remove_stale(Path(dst), {clean_relpath(path) for path, row in rows.items() if row["status"] == KEPT})
    frame, manifest_path = write_outputs(src, dst, [rows[path] for path in inputs], config, manifest_format)
    clear_lines(work)
    if not storage.is_url(dst):
        Path(work).parent.rmdir()
    return CurationResult(frame, manifest_path, len(inputs), 0, time.monotonic() - started)
