"""What "piano" means: GM programs, the drum channel, and track names.

A part is the notes of one (track, channel, program) of a file. It is piano when:
1. it is not on the drum channel (10, 0-based 9), which is never piano; and
2. its program was set explicitly to 1-7 (GM piano family: bright, electric grand, honky-tonk,
   electric pianos, harpsichord, clavinet): evidence ``program``; an explicit 8-127 is not piano; or
3. its program is 0, explicitly or by default. Program 0 is weak evidence: it is what a channel
   plays when nothing was set, and score exporters (music21 among them) write it for every part
   without an instrument, so a string quartet arrives as four "pianos". The track name decides when
   it names an instrument (``piano``, ``pno``, ``klavier``, ``right hand`` ... or ``violin``,
   ``soprano``, ``bass`` ...): evidence ``name``. When the name says nothing, the part counts as
   piano with evidence ``explicit_program_0`` or ``default_program``, the weakest, so a curator can
   filter on it in the manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pianorbm.curate.song import DRUM_CHANNEL, Song

PIANO_PROGRAMS = range(0, 8)
UNSTATED = frozenset({"explicit_program_0", "default_program"})  # evidence that names no instrument

_PIANO_NAME = re.compile(
    r"piano|pno|klavier|clavier|keyboard|\bkeys\b|\bkbd\b|harpsichord|cembalo|clavecin|clavinet|"
    r"fortepiano|pianoforte|\bgrand\b|right[ .-]*hand|left[ .-]*hand|\b[rl]\.? ?h\b|rechte|linke|"
    r"mano (destra|sinistra)|main (droite|gauche)",
    re.IGNORECASE,
)
_OTHER_NAME = re.compile(
    r"violin|viol[ao]|violon|cello|contrabass|double bass|\bbass|string|guitar|gtr|flute|flauto|fl[oö]te|"
    r"piccolo|oboe|hautbois|clarinet|klarinette|bassoon|fagott|basson|horn|corno|cor\b|trumpet|tromba|"
    r"trompete|trombone|posaune|tuba|sax|recorder|blockfl|voice|vocal|vox|voce|stimme|gesang|sopran|"
    r"\balt|tenor|baritone|bariton|choir|chorus|chor\b|coro\b|singer|canto|cantus|drum|perc|timpani|"
    r"pauken|organ|orgel|organo|harp\b|harfe|arpa\b|accordion|synth|marimba|vibraphone|xylophone|banjo|"
    r"mandolin|fiddle|brass|woodwind|orchestra|geige|bratsche",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PartDecision:
    """The verdict on one (track, channel, program) part and the evidence that decided it."""

    track: int
    channel: int
    program: int
    program_explicit: bool
    name: str
    notes: int
    is_piano: bool
    evidence: str  # drum_channel | program | name | explicit_program_0 | default_program


def name_says(name: str) -> str | None:
    """'piano', 'other', or None when a track name names no instrument."""
    if _PIANO_NAME.search(name):
        return "piano"
    if _OTHER_NAME.search(name):
        return "other"
    return None


def decide_part(channel: int, program: int, explicit: bool, name: str) -> tuple[bool, str]:
    if channel == DRUM_CHANNEL:
        return False, "drum_channel"
    if explicit and program != 0:
        return program in PIANO_PROGRAMS, "program"
    said = name_says(name)
    if said is not None:
        return said == "piano", "name"
    return True, "explicit_program_0" if explicit else "default_program"


def classify_parts(song: Song) -> tuple[list[PartDecision], np.ndarray]:
    """Decides every part of a song.

    Returns the decisions (sorted by track, channel, program) and a bool mask over
    ``song.notes`` marking the notes of piano parts.
    """
    notes = song.notes
    key = (notes.track.astype(np.int64) << 16) | (notes.channel.astype(np.int64) << 8) | notes.program
    unique_keys, first, counts = np.unique(key, return_index=True, return_counts=True)
    decisions, piano_keys = [], []
    for part_key, i, count in zip(unique_keys, first, counts):
        track, channel, program = int(notes.track[i]), int(notes.channel[i]), int(notes.program[i])
        explicit = bool(notes.program_explicit[i])
        name = song.track_names[track] if track < len(song.track_names) else ""
        is_piano, evidence = decide_part(channel, program, explicit, name)
        decisions.append(PartDecision(track, channel, program, explicit, name, int(count), is_piano, evidence))
        if is_piano:
            piano_keys.append(part_key)
    return decisions, np.isin(key, np.array(piano_keys, dtype=np.int64))
