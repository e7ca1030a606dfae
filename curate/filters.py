"""Quality filters: small predicates over the kept notes that return a reason code or None.

They never raise on odd music; every rejection is a reason in the manifest.
"""

from __future__ import annotations

import numpy as np

from pianorbm.curate.config import CurateConfig
from pianorbm.curate.song import Notes, Song

PIANO_LOW, PIANO_HIGH = 21, 108


def too_few_notes(notes: Notes, song: Song, config: CurateConfig) -> str | None:
    return "too_few_notes" if len(notes) < config.min_notes else None


def too_short_or_long(notes: Notes, song: Song, config: CurateConfig) -> str | None:
    start, end = song.seconds_at(np.array([notes.onset.min(), notes.offset.max()]))
    length = end - start
    if length < config.min_seconds:
        return "too_short"
    if length > config.max_seconds:
        return "too_long"
    return None


def out_of_piano_range(notes: Notes, song: Song, config: CurateConfig) -> str | None:
    outside = ((notes.pitch < PIANO_LOW) | (notes.pitch > PIANO_HIGH)).mean()
    return "out_of_range" if outside > config.max_out_of_range else None


QUALITY_FILTERS = (too_few_notes, too_short_or_long, out_of_piano_range)


def first_failure(notes: Notes, song: Song, config: CurateConfig) -> str | None:
    """The reason code of the first filter the kept notes fail, or None when all pass."""
    if not len(notes):
        return "no_notes"
    for check in QUALITY_FILTERS:
        reason = check(notes, song, config)
        if reason:
            return reason
    return None
