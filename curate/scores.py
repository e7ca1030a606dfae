"""Scores (MusicXML, ABC, Humdrum) as curation input: converted to MIDI bytes through music21.

Off by default (``curate --scores``) because music21 takes tens to hundreds of milliseconds per
score where a MIDI file takes a few. The converted bytes then go through exactly the checks a MIDI
file goes through, and the clean copy is a MIDI file named after the score plus ``.mid``
(``chorale.mxl`` -> ``chorale.mxl.mid``), so a score never collides with a MIDI file beside it.
A file holding several pieces (an ABC tune book, an opus) keeps its first piece, with a warning.
"""

from __future__ import annotations

from pathlib import Path

from pianorbm.curate.errors import CurationError

SCORE_SUFFIXES = (".xml", ".musicxml", ".mxl", ".abc", ".krn")


class ScoreReadError(CurationError):
    """A score music21 cannot parse or turn into MIDI."""

    reason = "score_unreadable"


def is_score(relpath: str) -> bool:
    return relpath.lower().endswith(SCORE_SUFFIXES)


def clean_relpath(relpath: str) -> str:
    """Where the clean MIDI copy of an input goes, relative to the clean folder."""
    return relpath + ".mid" if is_score(relpath) else relpath


def score_to_midi(path: Path) -> tuple[bytes, list[str]]:
    """The MIDI bytes music21 writes for the score at ``path``, and warnings about the conversion."""
    from music21 import converter, stream
    from music21.midi.translate import streamToMidiFile

    warnings = []
    try:
        parsed = converter.parse(str(path))
    except Exception as err:  # music21 raises many unrelated types for bad input
        raise ScoreReadError(f"music21 cannot parse {path.name}: {type(err).__name__}: {err}") from None
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if not scores:
            raise ScoreReadError(f"{path.name} holds no piece")
        if len(scores) > 1:
            warnings.append(f"collection_of_{len(scores)}_first_kept")
        parsed = scores[0]
    try:
        return streamToMidiFile(parsed).writestr(), warnings
    except Exception as err:
        raise ScoreReadError(f"music21 cannot write {path.name} as MIDI: {type(err).__name__}: {err}") from None
