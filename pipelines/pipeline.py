"""``pianorbm pipeline``: corpus export -> curate -> build-records -> train -> sample (-> evaluate),
then ``report.html``, under one output folder.

Each stage is recorded in ``OUT/pipeline.json`` with a signature of what it was run on (its
settings and the state of its input) and a digest of what it left. A rerun skips a stage whose
signature matches and whose output is still the one recorded; any other stage runs, and the
stage functions themselves resume what they can (curation's journal, training checkpoints), so
an interrupted or reconfigured pipeline redoes only what it has to. A changed training setting that
cannot extend the saved run (anything but epochs, patience and the logging intervals) starts the
run over.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from pianorbm.common.files import file_sha256, write_text_atomic
from pianorbm.pipelines.pipeline_config import PipelineConfig

STATE_NAME = "pipeline.json"
STAGES = ("corpus", "curate", "records", "train", "sample", "compare", "evaluate")


class PipelineError(Exception):
    """A stage that failed; the message names the stage and says why."""


@dataclass(frozen=True)
class Layout:
    """The folders of one pipeline output."""

    out: Path

    raw = property(lambda self: self.out / "raw")
    clean = property(lambda self: self.out / "clean")
    records = property(lambda self: self.out / "records")
    run = property(lambda self: self.out / "run")
    samples = property(lambda self: self.out / "samples")
    pretrained_samples = property(lambda self: self.out / "pretrained-samples")
    report = property(lambda self: self.out / "report.html")
    state = property(lambda self: self.out / STATE_NAME)


@dataclass
class StageOutcome:
    stage: str
    status: str  # ran, skipped (up to date), or not_configured
    seconds: float = 0.0
    note: str = ""


@dataclass
class PipelineResult:
    layout: Layout
    outcomes: list[StageOutcome] = field(default_factory=list)


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _file_digest(path: Path) -> str | None:
    return file_sha256(path)[:20] if path.is_file() else None


def _folder_listing(folder: Path, suffixes: tuple[str, ...]) -> str:
    """Digest of the relative names and contents of the matching files under ``folder``: the same for a
    copy of the folder, whatever its place and its files' modification times."""
    entries = []
    for parent, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(suffixes):
                path = Path(parent) / name
                entries.append((path.relative_to(folder).as_posix(), file_sha256(path)))
    return _digest(entries)


def _output_digest(stage: str, layout: Layout, config: PipelineConfig) -> str | None:
    """What a finished stage left, reduced to a digest (None when it is not there)."""
    if stage == "corpus":
        return _file_digest(layout.raw / "corpus.json")
    if stage == "curate":
        return _file_digest(layout.clean / "manifest.csv") or _file_digest(layout.clean / "manifest.parquet")
    if stage == "records":
        info = layout.records / "dataset.json"
        return json.loads(info.read_text()).get("fingerprint") if info.is_file() else None
    if stage == "train":
        state = layout.run / "state.json"
        return _file_digest(state) if state.is_file() and json.loads(state.read_text()).get("finished") else None
    if stage == "sample":
        return _file_digest(layout.samples / "samples.json")
    if stage == "compare":
        return _file_digest(layout.pretrained_samples / "samples.json")
    if stage == "evaluate":
        return _file_digest(layout.run / f"eval-{config.evaluate.split}.json")
    raise ValueError(stage)


class _State:
    """``pipeline.json``: per stage, the signature it ran with and the digest of its output."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.is_file() else {}
        self.data.setdefault("stages", {})

    def up_to_date(self, stage: str, signature: str, output: str | None) -> bool:
        saved = self.data["stages"].get(stage, {})
        return output is not None and saved.get("signature") == signature and saved.get("output") == output

    def record(self, stage: str, signature: str, output: str | None, seconds: float) -> None:
        self.data["stages"][stage] = {"signature": signature, "output": output, "seconds": round(seconds, 2),
                                      "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        write_text_atomic(self.path, json.dumps(self.data, indent=1) + "\n")

    def record_run(self, config: PipelineConfig, outcomes: list[StageOutcome]) -> None:
        settings = config.stage_settings()
        settings["pipeline"].pop("out")  # this folder: recorded nowhere inside it, so that it can move
        self.data["config"] = settings
        self.data["config_file"] = config.origin
        self.data["last_run"] = [asdict(o) for o in outcomes]
        write_text_atomic(self.path, json.dumps(self.data, indent=1) + "\n")


def _signature(stage: str, config: PipelineConfig, layout: Layout, outputs: dict[str, str | None]) -> str:
    settings = config.stage_settings()
    if stage == "corpus":
        import music21

        inputs = {"query": config.location, "parts": config.parts, "music21": music21.__version__}
    elif stage == "curate":
        folder = layout.raw if config.source == "music21" else Path(config.location)
        inputs = {"settings": config.curate.fingerprint(), "raw": _folder_listing(folder, config.curate.input_suffixes())}
    elif stage == "records":
        if config.source == "benchmark":
            source = _file_digest(Path(config.location))
        else:
            source = outputs["curate"]
        from pianorbm.rolls.records import FORMAT_VERSION

        inputs = {"settings": settings["records"], "source": source, "format": FORMAT_VERSION}
    elif stage == "train":
        inputs = {"settings": settings["train"], "records": outputs["records"]}
    elif stage == "sample":
        inputs = {"settings": settings["sample"], "run": outputs["train"]}
    elif stage == "compare":
        from pianorbm.model.pretrained import PRETRAINED_DIR

        inputs = {"settings": settings["sample"], "model": config.compare_pretrained,
                  "index": _file_digest(PRETRAINED_DIR / "index.json")}
    else:
        inputs = {"settings": settings["evaluate"], "run": outputs["train"], "records": outputs["records"]}
    return _digest(inputs)


def _stages(config: PipelineConfig) -> list[str]:
    stages = list(STAGES)
    if config.source != "music21":
        stages.remove("corpus")
    if config.source == "benchmark":
        stages.remove("curate")
    if config.evaluate is None:
        stages.remove("evaluate")
    if config.compare_pretrained is None:
        stages.remove("compare")
    return stages


def _run_stage(stage: str, config: PipelineConfig, layout: Layout, log: Callable[[str], None], progress) -> str:
    """Runs one stage; returns a one-line note for the summary."""
    if stage == "corpus":
        from pianorbm.curate.music21_corpus import export_corpus

        result = export_corpus(config.location, layout.raw, mode=config.parts, progress=progress("export"))
        failed = sum(row["status"] == "failed" for row in result.works)
        return f"{len(result.works)} works, {failed} failed to export"
    if stage == "curate":
        from pianorbm.curate.curation import curate_folder

        src = layout.raw if config.source == "music21" else Path(config.location)
        result = curate_folder(src, layout.clean, config.curate, progress=progress("curate"))
        counts = result.manifest.status.value_counts().to_dict()
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    if stage == "records":
        from pianorbm.rolls.build_records import build_records

        source = {"pickle_path": Path(config.location)} if config.source == "benchmark" else {"clean_dir": layout.clean}
        info = build_records(layout.records, config.records, progress=progress("records"), **source)
        return ", ".join(f"{split} {s['pieces']} pieces" for split, s in info["splits"].items())
    if stage == "train":
        from pianorbm.model.train import run_differences, train

        differences = run_differences(layout.records, layout.run, config.train)
        if differences:
            log(f"train: the settings changed ({'; '.join(differences)}): starting the run over")
        state = train(layout.records, layout.run, config.train, restart=bool(differences), log=log)
        return (f"epoch {state['epoch']}, best {state.get('criterion', 'val_monitor')} {state['best_validation']:.3f} "
                f"at epoch {state['best_epoch']} ({state['finished']})")
    if stage == "sample":
        from pianorbm.model.sample import sample_run

        summary = sample_run(layout.run, layout.samples, config.sample, overwrite=True)  # the stage's own folder
        for warning in summary["warnings"]:
            log(f"sample: warning: {warning}")
        audio = sum("audio" in output for output in summary["outputs"])
        return f"{len(summary['outputs'])} pieces of {summary['steps']} frames, {audio} with audio"
    if stage == "compare":
        from pianorbm.model.sample import sample_run

        summary = sample_run(f"pretrained:{config.compare_pretrained}", layout.pretrained_samples, config.sample,
                             overwrite=True)
        return f"{len(summary['outputs'])} pieces of pretrained:{config.compare_pretrained}"
    if stage == "evaluate":
        from pianorbm.model.evaluate import evaluate_run

        result = evaluate_run(layout.run, layout.records, config.evaluate, progress=progress("evaluate", "frame"))
        return f"NLL {result['nll']:.3f} per step, accuracy {100 * result['accuracy']:.1f} %"
    raise ValueError(stage)


def run_pipeline(config: PipelineConfig, *, log: Callable[[str], None] = print, progress=None) -> PipelineResult:
    """Runs every configured stage that is not up to date, then writes the report.

    ``progress(description, unit)`` may return a factory ``make(total)`` of tqdm-like bars, or None.
    The report is written even when a stage fails, showing what there is.
    """
    from pianorbm.pipelines.report import write_report

    layout = Layout(Path(config.out))
    layout.out.mkdir(parents=True, exist_ok=True)
    state = _State(layout.state)
    result = PipelineResult(layout)
    outputs: dict[str, str | None] = {}
    bars = progress or (lambda description, unit="file": None)
    try:
        for stage in _stages(config):
            signature = _signature(stage, config, layout, outputs)
            existing = _output_digest(stage, layout, config)
            if state.up_to_date(stage, signature, existing):
                outputs[stage] = existing
                result.outcomes.append(StageOutcome(stage, "skipped", note="up to date"))
                log(f"{stage}: up to date, skipped")
                continue
            log(f"{stage}: running")
            started = time.monotonic()
            try:
                note = _run_stage(stage, config, layout, log, bars)
            except Exception as err:
                result.outcomes.append(StageOutcome(stage, "failed", time.monotonic() - started, str(err)))
                raise PipelineError(f"{stage} failed: {err}") from err
            seconds = time.monotonic() - started
            outputs[stage] = _output_digest(stage, layout, config)
            if outputs[stage] is None:
                result.outcomes.append(StageOutcome(stage, "unfinished", seconds, note))
                raise PipelineError(f"{stage} ended without its output ({note}); rerun to resume")
            state.record(stage, signature, outputs[stage], seconds)
            result.outcomes.append(StageOutcome(stage, "ran", seconds, note))
            log(f"{stage}: {note} ({seconds:.1f} s)")
    finally:
        state.record_run(config, result.outcomes)
        write_report(layout, config)
    return result
