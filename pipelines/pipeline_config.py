"""The pipeline's config file: one section per stage, in TOML or YAML.

```toml
[pipeline]
out = "demo"                    # every stage's folder goes under it (relative to the current folder)

[corpus]                        # exactly one source:
music21 = "bach/chorales"       #   export this query of music21's bundled corpus into OUT/raw
# folder = "my-midi"            #   or curate a folder of yours (never written to)
# benchmark = "JSB Chorales.pickle"  # or import a benchmark pickle (no curation)
parts = "keyboard"              # music21 export mode

[curate]                        # CurateConfig fields, e.g. piano_only = true
[records]                       # RecordsConfig fields, e.g. transpose = [-3, 3]
[train]                         # TrainConfig fields, e.g. cell = "lstm"
[sample]                        # SampleConfig fields, e.g. bars = 8
[evaluate]                      # EvaluateConfig fields; the stage runs only when the section is there
```

A key is the command-line option's name with underscores (``--max-file-mb`` is ``max_file_mb``), and
a missing section means that stage's defaults: both come from the one declaration of each setting
(common.settings). Every value of every section is checked when the file is read, before any stage
runs; a bad one is one line naming the file, the section, the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from pianorbm.common.settings import SettingsError, settings_from_mapping
from pianorbm.curate.config import CurateConfig
from pianorbm.curate.music21_corpus import EXPORT_MODES
from pianorbm.model.config import EvaluateConfig, SampleConfig, TrainConfig
from pianorbm.rolls.records_config import RecordsConfig

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "bach-chorales.toml"
SECTIONS = ("pipeline", "corpus", "curate", "records", "train", "sample", "evaluate")
SOURCES = ("music21", "folder", "benchmark")


class PipelineConfigError(Exception):
    """A config file that cannot be used as written; the message names the file and the key."""


@dataclass(frozen=True)
class PipelineConfig:
    out: Path
    source: str  # one of SOURCES
    location: str  # the music21 query, or the folder or pickle path
    parts: str
    curate: CurateConfig
    records: RecordsConfig
    train: TrainConfig
    sample: SampleConfig
    evaluate: EvaluateConfig | None
    origin: str  # the file it was read from
    compare_pretrained: str | None = None  # a pretrained model sampled with the same settings, for the report

    def stage_settings(self) -> dict:
        """Every setting as plain JSON values, per section (recorded beside the outputs)."""
        return {"pipeline": {"out": str(self.out), "compare_pretrained": self.compare_pretrained},
                "corpus": {self.source: self.location, "parts": self.parts},
                "curate": self.curate.to_dict(), "records": self.records.to_dict(),
                "train": self.train.to_dict(), "sample": _plain(self.sample),
                "evaluate": None if self.evaluate is None else _plain(self.evaluate)}


def _plain(settings) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def _parse_text(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    if is_yaml:
        import yaml

        parse, errors = (lambda t: yaml.safe_load(t) or {}), yaml.YAMLError
    else:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        parse, errors = tomllib.loads, tomllib.TOMLDecodeError
    try:
        data = parse(text)
    except errors as err:
        raise PipelineConfigError(f"{path}: not valid {'YAML' if is_yaml else 'TOML'}: {err}") from None
    if not isinstance(data, dict):
        raise PipelineConfigError(f"{path}: expected sections ([train], [sample]...) at the top level")
    return data


def _settings(cls, where: str, section: dict):
    try:
        return settings_from_mapping(cls, section)
    except SettingsError as err:
        raise PipelineConfigError(f"{where} {err}") from None


def _source(where: str, section: dict) -> tuple[str, str, str]:
    unknown = sorted(set(section) - {*SOURCES, "parts"})
    if unknown:
        raise PipelineConfigError(f"{where} {unknown[0]}: unknown setting; known: {', '.join([*SOURCES, 'parts'])}")
    given = [name for name in SOURCES if name in section]
    if len(given) != 1:
        raise PipelineConfigError(f"{where}: give exactly one of {', '.join(SOURCES)} (found {', '.join(given) or 'none'})")
    parts = section.get("parts", "keyboard")
    if parts not in EXPORT_MODES:
        raise PipelineConfigError(f"{where} parts = {parts!r}: one of {', '.join(EXPORT_MODES)}")
    location = section[given[0]]
    if not isinstance(location, str) or not location:
        raise PipelineConfigError(f"{where} {given[0]} = {location!r}: a non-empty text")
    if given[0] == "folder" and not Path(location).expanduser().is_dir():
        raise PipelineConfigError(f"{where} folder = {location!r}: a folder that exists")
    if given[0] == "benchmark" and not Path(location).expanduser().is_file():
        raise PipelineConfigError(f"{where} benchmark = {location!r}: a benchmark pickle that exists "
                                  "(`pianorbm corpus benchmark NAME FOLDER` downloads one)")
    return given[0], location, parts


def load_pipeline_config(path: Path | None = None, out: Path | None = None) -> PipelineConfig:
    """Reads a pipeline config (the bundled Bach-chorale demo when ``path`` is None); ``out``
    overrides its output folder."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise PipelineConfigError(f"{path}: no such config file")
    data = _parse_text(path)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise PipelineConfigError(f"{path}: unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}")
    for name, section in data.items():
        if not isinstance(section, dict):
            raise PipelineConfigError(f"{path}: [{name}] should be a section of settings")
    pipeline = data.get("pipeline", {})
    known = ("out", "compare_pretrained")
    if set(pipeline) - set(known):
        raise PipelineConfigError(f"{path} [pipeline] {sorted(set(pipeline) - set(known))[0]}: unknown setting; "
                                  f"known: {', '.join(known)}")
    if not isinstance(pipeline.get("out", "x"), str) or not pipeline.get("out", "x"):
        raise PipelineConfigError(f"{path} [pipeline] out = {pipeline.get('out')!r}: a folder name")
    compare = pipeline.get("compare_pretrained")
    if compare is not None:
        from pianorbm.model.pretrained import pretrained_index

        if compare not in pretrained_index():
            raise PipelineConfigError(f"{path} [pipeline] compare_pretrained = {compare!r}: one of "
                                      f"{', '.join(sorted(pretrained_index())) or '(none in this installation)'}")
    out = Path(out) if out is not None else Path(pipeline.get("out", "pipeline-out"))
    stages = {"curate": _settings(CurateConfig, f"{path} [curate]", data.get("curate", {})),
              "records": _settings(RecordsConfig, f"{path} [records]", data.get("records", {})),
              "train": _settings(TrainConfig, f"{path} [train]", data.get("train", {})),
              "sample": _settings(SampleConfig, f"{path} [sample]", data.get("sample", {})),
              "evaluate": _settings(EvaluateConfig, f"{path} [evaluate]", data["evaluate"]) if "evaluate" in data
              else None}
    if "corpus" not in data:
        raise PipelineConfigError(f"{path}: no [corpus] section; say where the music comes from with one of "
                                  f"{', '.join(SOURCES)} (e.g. [corpus] music21 = \"bach/chorales\")")
    source, location, parts = _source(f"{path} [corpus]", data["corpus"])
    return PipelineConfig(
        out=out, source=source, location=location, parts=parts, **stages,
        origin=str(path), compare_pretrained=compare)
