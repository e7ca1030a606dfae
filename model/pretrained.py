"""Models that ship with pianorbm: sample from them with no training.

``pianorbm sample pretrained:pop909-piano OUT`` (or ``pretrained:jsb-chorales``,
``pretrained:nottingham``); ``pianorbm sample --list-pretrained`` lists them with their test
figures. Each is an exported ``.keras`` file (model, weights, data description) beside
``index.json``, which says how it was trained and evaluated, and the statistics of its training
data, so samples are compared with the data without the records.
``benchmarks/make_pretrained.py`` makes them from finished runs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
PREFIX = "pretrained:"


class PretrainedError(Exception):
    """An unknown pretrained name; the message lists the known ones."""


@functools.lru_cache(maxsize=1)
def pretrained_index() -> dict:
    """The shipped models' descriptions (read once: sampling looks a name up several times)."""
    path = PRETRAINED_DIR / "index.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def is_pretrained(source: str | Path) -> bool:
    return str(source).startswith(PREFIX)


def pretrained_entry(source: str) -> dict:
    name = str(source)[len(PREFIX):]
    index = pretrained_index()
    if name not in index:
        raise PretrainedError(f"no pretrained model {name!r}; known: {', '.join(sorted(index)) or 'none'}")
    return index[name]


def pretrained_path(source: str) -> Path:
    """The model file of ``pretrained:NAME``."""
    return PRETRAINED_DIR / pretrained_entry(source)["file"]


def listing() -> str:
    """One line per pretrained model: its name, its data and its test figures."""
    lines = []
    for name, entry in sorted(pretrained_index().items()):
        figures = entry.get("test", {})
        nan = float("nan")
        scored = (f" on the first {figures['pieces']} of {figures['pieces_in_split']} test pieces"
                  if figures.get("pieces", 0) < figures.get("pieces_in_split", 0) else "")
        lines.append(f"pretrained:{name:<14} {entry['description']}; test NLL {figures.get('nll', nan):.2f} to "
                     f"{figures.get('nll_reverse', nan):.2f} per step{scored} (AIS and reverse AIS, {figures.get('ais', '?')}; "
                     f"the NLL lies between), expected accuracy {100 * figures.get('accuracy', nan):.1f} %, keys "
                     f"with p > 1/2 {100 * figures.get('accuracy_likely_keys', nan):.1f} % (copying the previous "
                     f"frame: {100 * figures.get('copy_floor', nan):.1f} %)")
    return "\n".join(lines) or "no pretrained models in this installation"
