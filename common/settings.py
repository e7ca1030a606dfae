"""Every setting of every stage, declared once: name, type, range, choices and help.

A stage's settings are a frozen dataclass whose fields are declared with :func:`setting`. From that
one declaration come

- the command-line options (:func:`click_options`): ``--max-file-mb`` for the field ``max_file_mb``,
  with its type, range, choices, default and help;
- the pipeline config's keys (:func:`settings_from_mapping`): the option's name with underscores;
- the checks (:func:`check_settings`, called by each dataclass's ``__post_init__``), so a value is
  refused the same way from the command line, a config file or Python, before any work starts.

Only the standard library and click are imported here: checking settings never waits for
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

import click

METADATA_KEY = "pianorbm_setting"


class SettingsError(ValueError):
    """A value a setting does not allow. ``key`` names the setting, ``allowed`` says what would do."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key} = {_shown(value)}: {allowed}")

    def for_option(self) -> str:
        """The message with the key written as a command-line option."""
        return f"--{self.key.replace('_', '-')} {_shown(self.value)}: {self.allowed}"


@dataclass(frozen=True)
class Setting:
    """What a field allows and how it is offered on the command line."""

    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low bound itself is not allowed
    choices: tuple[str, ...] | None = None
    parse: Callable[[Any], Any] | None = None  # text or list -> value; raises ValueError(what is allowed)
    metavar: str | None = None
    short: str | None = None  # a one-letter alias such as "-n"


def setting(default, help: str, **kwargs):
    """A dataclass field declared as a setting (see :class:`Setting` for the keyword arguments)."""
    return dataclasses.field(default=default, metadata={METADATA_KEY: Setting(help, **kwargs)})


def _shown(value) -> str:
    return repr(value) if not isinstance(value, tuple) else repr(list(value))


@functools.lru_cache(maxsize=None)
def _declared(cls) -> tuple[tuple[dataclasses.Field, Setting, type, bool], ...]:
    """(field, setting, base type, None allowed) of each declared field of ``cls``."""
    hints = typing.get_type_hints(cls)
    declared = []
    for field in dataclasses.fields(cls):
        spec = field.metadata.get(METADATA_KEY)
        if spec is None:
            continue
        hint = hints[field.name]
        args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        optional = type(None) in args
        base = next(a for a in args if a is not type(None))
        declared.append((field, spec, typing.get_origin(base) or base, optional))
    return tuple(declared)


def _number_words(spec: Setting, kind: type) -> str:
    noun = "an integer" if kind is int else "a number"
    low, high = spec.low, spec.high
    fmt = (lambda x: f"{x:g}") if kind is float else (lambda x: f"{int(x)}")
    if low is not None and high is not None:
        return f"{noun} from {fmt(low)} to {fmt(high)}" + (f" (above {fmt(low)})" if spec.low_open else "")
    if low is not None:
        return f"{noun} {'above' if spec.low_open else 'of at least'} {fmt(low)}"
    if high is not None:
        return f"{noun} of at most {fmt(high)}"
    return noun


def allowed_words(spec: Setting, kind: type, optional: bool) -> str:
    """What a setting allows, in words."""
    if spec.choices is not None:
        words = "one of " + ", ".join(spec.choices)
    elif kind is bool:
        words = "true or false"
    elif kind in (int, float):
        words = _number_words(spec, kind)
    elif kind is str:
        words = "a text"
    else:
        words = spec.metavar or kind.__name__
    return words + (" (or left out)" if optional and kind is not bool else "")


def _checked(key: str, value, spec: Setting, kind: type, optional: bool):
    """``value`` checked against the declaration (and normalised: int -> float, list -> tuple)."""
    if value is None:
        if optional:
            return None
        raise SettingsError(key, value, allowed_words(spec, kind, optional))
    if spec.parse is not None:
        try:
            return spec.parse(value)
        except (TypeError, ValueError) as err:
            raise SettingsError(key, value, str(err)) from None
    refuse = functools.partial(SettingsError, key, value, allowed_words(spec, kind, optional))
    if kind is bool:
        if not isinstance(value, bool):
            raise refuse()
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
            raise refuse()
        value = kind(value)
        if value != value:  # nan
            raise refuse()
        if spec.low is not None and (value < spec.low or (spec.low_open and value == spec.low)):
            raise refuse()
        if spec.high is not None and value > spec.high:
            raise refuse()
        return value
    if kind is str and not isinstance(value, str):
        raise refuse()
    if spec.choices is not None and value not in spec.choices:
        raise refuse()
    return value


def check_settings(settings) -> None:
    """Checks (and normalises, in place) every declared field of a frozen settings dataclass."""
    for field, spec, kind, optional in _declared(type(settings)):
        value = _checked(field.name, getattr(settings, field.name), spec, kind, optional)
        object.__setattr__(settings, field.name, value)


def setting_names(cls) -> list[str]:
    return [field.name for field, *_ in _declared(cls)]


def settings_from_mapping(cls, mapping: dict, renamed: dict[str, str] | None = None):
    """``cls`` from a mapping of setting names (a config section, a saved JSON file). Unknown names
    raise :class:`SettingsError` listing the known ones; ``renamed`` maps old names to current ones."""
    known = setting_names(cls)
    values = {}
    for name, value in mapping.items():
        name = (renamed or {}).get(name, name)
        if name not in known:
            raise SettingsError(name, value, "unknown setting; known: " + ", ".join(known))
        values[name] = value
    return cls(**values)


class _Parsed(click.ParamType):
    """A click parameter type for composite settings, using the setting's own parser."""

    def __init__(self, spec: Setting):
        self.spec, self.name = spec, spec.metavar or "value"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.spec.parse(value)
        except (TypeError, ValueError) as err:
            self.fail(f"{value!r}: {err}", param, ctx)


def _click_type(spec: Setting, kind: type):
    if spec.parse is not None:
        return _Parsed(spec)
    if spec.choices is not None:
        return click.Choice(spec.choices)
    if kind is int:
        if spec.low is None and spec.high is None:
            return click.INT
        return click.IntRange(None if spec.low is None else int(spec.low), None if spec.high is None else int(spec.high),
                              min_open=spec.low_open)
    if kind is float:
        if spec.low is None and spec.high is None:
            return click.FLOAT
        return click.FloatRange(spec.low, spec.high, min_open=spec.low_open)
    return click.STRING


def click_options(cls):
    """A decorator adding one click option per declared setting of ``cls``, in declaration order."""

    def decorate(command):
        for field, spec, kind, optional in reversed(_declared(cls)):
            name = field.name.replace("_", "-")
            if kind is bool:
                decls = [f"--{name}/--no-{name}"] if field.default else [f"--{name}"]
                command = click.option(*decls, *([spec.short] if spec.short else []), field.name,
                                       is_flag=True, default=field.default, help=spec.help)(command)
                continue
            default = field.default
            if isinstance(default, tuple) and spec.parse is not None:
                default = _format_composite(default, spec.metavar)
            command = click.option(f"--{name}", *([spec.short] if spec.short else []), field.name,
                                   type=_click_type(spec, kind), default=default, help=spec.help,
                                   metavar=spec.metavar, show_default=default is not None)(command)
        return command

    return decorate


def _format_composite(value: tuple, metavar: str | None = None) -> str:
    """A composite default in the syntax its option takes: 0..0 for LOW..HIGH, else 0.8,0.1,0.1."""
    return (".." if metavar and ".." in metavar else ",").join(str(x) for x in value)


# Parsers of composite settings: each takes the command line's text or a config file's list.

def _items(value, separators: tuple[str, ...] = (",",)) -> list:
    if isinstance(value, str):
        for separator in separators:
            if separator in value:
                return [x.strip() for x in value.split(separator)]
        return [value.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError("not a list")


def parse_fractions(value) -> tuple[float, float, float]:
    """train,valid,test fractions: "0.8,0.1,0.1" or [0.8, 0.1, 0.1]; they must sum to 1."""
    words = "three fractions for train, valid, test that sum to 1, like 0.8,0.1,0.1, with train above 0"
    try:
        parts = tuple(float(x) for x in _items(value))
    except (TypeError, ValueError):
        raise ValueError(words) from None
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1) > 1e-6 or parts[0] <= 0:
        raise ValueError(words)
    return parts


def parse_int_range(value) -> tuple[int, int]:
    """An inclusive semitone range: "-3..3", "-3,3", "2" or [-3, 3]; low <= high."""
    words = "a range low..high of whole numbers, like -3..3 (or [-3, 3] in a config file), low first"
    try:
        if isinstance(value, str) and ".." in value:
            parts = [int(x) for x in value.split("..")]
        elif isinstance(value, int) and not isinstance(value, bool):
            parts = [value, value]
        else:
            parts = [int(x) for x in _items(value)]
            parts = parts * 2 if len(parts) == 1 else parts
    except (TypeError, ValueError):
        raise ValueError(words) from None
    if len(parts) != 2 or parts[0] > parts[1] or any(isinstance(x, bool) for x in parts):
        raise ValueError(words)
    return parts[0], parts[1]


def parse_pitches(value) -> tuple[int, ...]:
    """MIDI pitches 21-108: "60,64,67" or [60, 64, 67]."""
    words = "MIDI pitches from 21 to 108, like 60,64,67"
    try:
        pitches = tuple(int(x) for x in _items(value))
    except (TypeError, ValueError):
        raise ValueError(words) from None
    if not pitches or any(not 21 <= p <= 108 for p in pitches):
        raise ValueError(words)
    return pitches
