"""``pianorbm build-records --runner NAME``: roll a curated folder and write its shards on Apache Beam.

Each clean file is rolled by the local build's own function (rolls.pieces.roll_clean_file,
isolated in each worker); a piece's split comes from its content hash (its near-duplicate
group's, when it is in one) and an example's shard from a hash of its name, so no worker needs
to see the others; each shard is written by the worker
that holds its examples, in the order a local build writes them. The command then writes
``dataset.json`` as a local build does, so the records equal a local build's (tested).
"""

from __future__ import annotations

import numpy as np

from pianorbm.common import storage
from pianorbm.common.beam import (batched, beam_pipeline, clear_lines, import_beam, isolated_calls, pipeline_options, read_lines,
                                    write_lines)
from pianorbm.rolls.pieces import (ROLL_MEMORY_MB, ROLL_TIMEOUT_S, Piece, dropped_reason, piece_summary, place_piece,
                              roll_clean_file, shard_count, shard_of, transpositions)
from pianorbm.rolls.records import SPLITS, encode_example, shard_name, write_shard
from pianorbm.rolls.records_config import RecordsConfig

WORK_PREFIX = ".beam-records/out"


def _examples(args_and_outcome, config: RecordsConfig, groups: dict):
    """One rolled file -> ('dropped', reason) or its examples and summary, tagged for the next steps."""
    _, outcome = args_and_outcome
    reason = dropped_reason(outcome)
    if reason:
        yield {"kind": "dropped", "reason": reason}
        return
    piece = Piece(outcome["name"], np.asarray(outcome["cells"]), outcome["num_frames"], outcome["split_key"],
                  outcome["sha256"], outcome["key"], outcome["shift"], counts=outcome["counts"])
    place_piece(piece, groups, config.split)
    examples = 0
    for shift, cells in transpositions(piece, config.transpose):
        if cells is None:
            yield {"kind": "dropped", "reason": "transpositions_out_of_range"}
            continue
        examples += 1
        yield ("example", piece.split, piece.name, shift, encode_example(piece.name, cells, piece.num_frames, shift))
    yield {"kind": "piece", **piece_summary(piece, examples)}


def _keyed_by_shard(example, counts: dict, shards: int):
    _, split, name, shift, data = example
    count = shard_count(shards, counts.get(split, 0))
    return (split, shard_of(name, shift, count), count), (name, shift, data)


def _write(group, out_dir: str):
    (split, index, count), members = group
    members = sorted(members, key=lambda member: (member[0], member[1]))
    entry = write_shard(storage.join(out_dir, shard_name(split, index, count)), [data for _, _, data in members])
    return {"kind": "shard", **entry, "split": split, "index": index, "count": count}


def roll_and_write_with_beam(clean_dir, out_dir, files: list[tuple[str, str]], groups: dict,
                             config: RecordsConfig, *, runner: str, beam_options: tuple[str, ...] = (),
                             jobs: int | None = None):
    """Rolls ``files`` ((path, sha256) of kept files; ``groups`` as rolls.pieces.place_piece takes
    them) and writes every shard; returns the pieces' summaries, the shard entries and the dropped
    counts, as the local build makes them."""
    options = pipeline_options(runner, beam_options, jobs)
    beam = import_beam()
    work = storage.join(out_dir, WORK_PREFIX)
    clear_lines(work)
    with beam_pipeline(options) as pipeline:
        rolled = (pipeline
                  | "list files" >> beam.Create([(str(clean_dir), path, sha, config) for path, sha in files])
                  | batched(beam, "files")
                  | "roll" >> beam.ParDo(isolated_calls(roll_clean_file, ROLL_TIMEOUT_S, ROLL_MEMORY_MB))
                  | "examples" >> beam.FlatMap(_examples, config, groups))
        examples, facts = rolled | "example?" >> beam.Partition(lambda item, _: 0 if isinstance(item, tuple) else 1, 2)
        counts = (examples
                  | "split of" >> beam.Map(lambda example: (example[1], 1))
                  | "count per split" >> beam.CombinePerKey(sum))
        shards = (examples
                  | "shard of" >> beam.Map(_keyed_by_shard, beam.pvalue.AsDict(counts), config.shards)
                  | "group shards" >> beam.GroupByKey()
                  | "write shards" >> beam.Map(_write, str(out_dir)))
        (facts, shards) | "all facts" >> beam.Flatten() | write_lines(beam, "facts", work)
    lines = read_lines(work)
    dropped: dict[str, int] = {}
    for line in lines:
        if line["kind"] == "dropped":
            dropped[line["reason"]] = dropped.get(line["reason"], 0) + 1
    summaries = [{k: v for k, v in line.items() if k != "kind"} for line in lines if line["kind"] == "piece"]
    shards = [{k: v for k, v in line.items() if k not in ("kind", "count")} for line in lines if line["kind"] == "shard"]
    for split in SPLITS:  # shards no example fell into are written empty, as a local build writes them
        count = shard_count(config.shards, sum(s["examples"] for s in summaries if s["split"] == split))
        present = {s["index"] for s in shards if s["split"] == split}
        for index in sorted(set(range(count)) - present):
            entry = write_shard(storage.join(out_dir, shard_name(split, index, count)), [])
            shards.append({**entry, "split": split, "index": index})
    clear_lines(work)
    if not storage.is_url(out_dir):
        (out_dir / WORK_PREFIX).parent.rmdir()
    return summaries, shards, dropped
