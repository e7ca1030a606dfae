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

A missing section means that stage's defaults (those of the command-line tools). Unknown sections,
unknown keys and values of the wrong type are errors that name the key.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from curate.config import CurateConfig
from curate.music21_corpus import EXPORT_MODES
from model.evaluate import EvaluateConfig
from model.sample import SampleConfig
from model.train import TrainConfig
from pipelines.build_records import BuildError, RecordsConfig

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

    def stage_settings(self) -> dict:
        """Every setting as plain JSON values, per section (recorded beside the outputs)."""
        return {"pipeline": {"out": str(self.out)},
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


def _check_type(where: str, name: str, value, default) -> None:
    if default is None or value is None:
        return
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise PipelineConfigError(f"{where}: {name} = {value!r} should be a {expected.__name__}")


def _settings(cls, where: str, section: dict, convert: dict | None = None):
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise PipelineConfigError(f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")
    values = {}
    for name, value in section.items():
        if convert and name in convert:
            value = convert[name](where, value)
        else:
            _check_type(where, name, value, getattr(defaults, name))
        values[name] = value
    try:
        return dataclasses.replace(defaults, **values)
    except (BuildError, ValueError, TypeError) as err:
        raise PipelineConfigError(f"{where}: {err}") from None


def _int_pair(where: str, value) -> tuple[int, int]:
    if isinstance(value, str) and ".." in value:
        low, _, high = value.partition("..")
        value = [low, high]
    try:
        low, high = (int(x) for x in value)
    except (TypeError, ValueError):
        raise PipelineConfigError(f"{where}: transpose = {value!r} should be [low, high] or \"low..high\"") from None
    return low, high


def _fractions(where: str, value) -> tuple[float, float, float]:
    try:
        fractions = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        fractions = ()
    if len(fractions) != 3:
        raise PipelineConfigError(f"{where}: split = {value!r} should be three fractions [train, valid, test]")
    return fractions


def _pitches(where: str, value) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(int(x) for x in value)
    except (TypeError, ValueError):
        raise PipelineConfigError(f"{where}: primer_pitches = {value!r} should be a list of MIDI pitches") from None


def _source(where: str, section: dict) -> tuple[str, str, str]:
    unknown = sorted(set(section) - {*SOURCES, "parts"})
    if unknown:
        raise PipelineConfigError(f"{where}: unknown setting(s) {unknown}; known: {[*SOURCES, 'parts']}")
    given = [name for name in SOURCES if name in section]
    if len(given) != 1:
        raise PipelineConfigError(f"{where}: give exactly one of {list(SOURCES)} (found {given or 'none'})")
    parts = section.get("parts", "keyboard")
    if parts not in EXPORT_MODES:
        raise PipelineConfigError(f"{where}: parts = {parts!r}; choose one of {list(EXPORT_MODES)}")
    location = section[given[0]]
    if not isinstance(location, str) or not location:
        raise PipelineConfigError(f"{where}: {given[0]} should be a non-empty string")
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
        raise PipelineConfigError(f"{path}: unknown section(s) {unknown}; known: {list(SECTIONS)}")
    for name, section in data.items():
        if not isinstance(section, dict):
            raise PipelineConfigError(f"{path}: [{name}] should be a section of settings")
    pipeline = data.get("pipeline", {})
    if set(pipeline) - {"out"}:
        raise PipelineConfigError(f"{path} [pipeline]: unknown setting(s) {sorted(set(pipeline) - {'out'})}; known: ['out']")
    out = Path(out) if out is not None else Path(pipeline.get("out", "pipeline-out"))
    source, location, parts = _source(f"{path} [corpus]", data.get("corpus", {"music21": "bach/chorales"}))
    records_section = dict(data.get("records", {}))
    if "dt" in records_section and "steps_per_quarter" not in records_section:
        records_section["steps_per_quarter"] = None
    if source == "benchmark" and "steps_per_quarter" not in records_section and "dt" not in records_section:
        records_section["steps_per_quarter"] = 4  # build-records replaces it by the pickle's own resolution
    return PipelineConfig(
        out=out, source=source, location=location, parts=parts,
        curate=_settings(CurateConfig, f"{path} [curate]", data.get("curate", {})),
        records=_settings(RecordsConfig, f"{path} [records]", records_section,
                          {"transpose": _int_pair, "split": _fractions}),
        train=_settings(TrainConfig, f"{path} [train]", data.get("train", {})),
        sample=_settings(SampleConfig, f"{path} [sample]", data.get("sample", {}), {"primer_pitches": _pitches}),
        evaluate=_settings(EvaluateConfig, f"{path} [evaluate]", data["evaluate"]) if "evaluate" in data else None,
        origin=str(path))
