"""The curation settings: one frozen dataclass, saved beside the output it produced."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
RESULTS_VERSION = 3  # bump when per-file results change, so that resumed runs redo every file


@dataclass(frozen=True)
class CurateConfig:
    """What ``pianorbm curate`` keeps, and the limits it reads files under.

    Attributes:
        piano_only: keep only files whose pitched material is all piano (see curate.instruments).
        extract_piano: with ``piano_only``, keep the piano parts of mixed files instead of
            rejecting them.
        min_notes: fewest kept notes a file may have.
        min_seconds / max_seconds: bounds on the kept material's length (onset of the first note
            to the end of the last).
        max_out_of_range: largest fraction of kept notes outside the piano's MIDI 21-108.
        max_file_bytes: larger files are rejected unread.
        timeout_s: wall-clock limit for reading and checking one file (in a worker process).
        memory_mb: address-space limit of each worker process.
        scores: also read MusicXML, ABC and Humdrum files, converted through music21
            (see curate.scores).
    """

    piano_only: bool = False
    extract_piano: bool = False
    min_notes: int = 32
    min_seconds: float = 5.0
    max_seconds: float = 1800.0
    max_out_of_range: float = 0.02
    max_file_bytes: int = 16 * 1024 * 1024
    timeout_s: float = 30.0
    memory_mb: int = 2048
    scores: bool = False

    def input_suffixes(self) -> tuple[str, ...]:
        from curate.scores import SCORE_SUFFIXES

        return MIDI_SUFFIXES + SCORE_SUFFIXES if self.scores else MIDI_SUFFIXES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CurateConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown curation settings: {sorted(unknown)}")
        return cls(**data)

    def fingerprint(self) -> str:
        """Identifies the settings that change per-file results (not the resource limits)."""
        decisive = {k: v for k, v in self.to_dict().items() if k not in ("timeout_s", "memory_mb")}
        decisive["results_version"] = RESULTS_VERSION
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]
