"""The curation settings: one frozen dataclass, saved beside the output it produced."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from pianorbm.common.settings import SettingsError, check_settings, setting

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
RESULTS_VERSION = 5  # bump when per-file results change, so that resumed runs redo every file


@dataclass(frozen=True)
class CurateConfig:
    """What ``pianorbm curate`` keeps, and the limits it reads files under (see curate.instruments
    for what piano means, curate.scores for the score formats)."""

    piano_only: bool = setting(False, "Keep only files whose pitched notes are all piano (GM 0-7, never the drum "
                                      "channel; program 0 is checked against track names).")
    extract_piano: bool = setting(False, "With --piano-only: keep the piano parts of mixed files instead of "
                                         "rejecting them.")
    min_unstated_polyphony: float = setting(1.5, "With --piano-only: a file whose piano parts state no instrument "
                                                 "(program 0, by default or explicitly, and no instrument in the track "
                                                 "names) is kept only when it averages at least this many notes at "
                                                 "once while sounding: one melodic line (a folk tune, a lead sheet's "
                                                 "melody) is not a piano piece (0: keep them).", low=0)
    scores: bool = setting(False, "Also read MusicXML (.xml .musicxml .mxl), ABC (.abc) and Humdrum (.krn) files "
                                  "through music21 (slow); clean copies are MIDI files named after the score plus .mid.")
    min_notes: int = setting(32, "Fewest kept notes.", low=1)
    min_seconds: float = setting(5.0, "Shortest kept material (first onset to last note end).", low=0)
    max_seconds: float = setting(1800.0, "Longest kept material.", low=0)
    max_out_of_range: float = setting(0.02, "Largest fraction of kept notes outside MIDI 21-108.", low=0, high=1)
    max_file_mb: float = setting(16.0, "Larger files are rejected unread.", low=0, low_open=True)
    near_duplicates: str = setting("group", "Files whose parts play mostly the same notes (up to a time shift, a tempo or "
                                            "resolution change, an octave): group (kept, marked in the manifest, and "
                                            "build-records keeps a group in one split), drop (only each group's first "
                                            "file is kept) or keep (not looked for).",
                                   choices=("group", "drop", "keep"))
    near_duplicate_transposed: bool = setting(True, "Near-duplicates may also be transposed copies (parts compared by "
                                                    "their intervals too, at an estimated similarity of at least 0.5).")
    near_duplicate_threshold: float = setting(0.3, "Smallest estimated Jaccard similarity of two parts' 8-note "
                                                   "shingles that makes their files near-duplicates.",
                                              low=0, high=1, low_open=True)
    timeout: float = setting(30.0, "Seconds allowed to read and check one file (in a worker process).", low=0.1)
    memory_mb: int = setting(2048, "Memory each worker may allocate (0: no limit).", low=0)

    def __post_init__(self):
        check_settings(self)
        if self.extract_piano and not self.piano_only:
            raise SettingsError("extract_piano", True, "only with piano_only (--piano-only)")
        if self.min_seconds > self.max_seconds:
            raise SettingsError("min_seconds", self.min_seconds, f"at most max_seconds ({self.max_seconds:g})")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 2**20)

    def input_suffixes(self) -> tuple[str, ...]:
        from pianorbm.curate.scores import SCORE_SUFFIXES

        return MIDI_SUFFIXES + SCORE_SUFFIXES if self.scores else MIDI_SUFFIXES

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> str:
        """Identifies the settings that change per-file results (not the resource limits, nor how
        near-duplicates are grouped, which is redone from the journalled sketches; only whether files
        are sketched at all)."""
        decisive = {k: v for k, v in self.to_dict().items()
                    if k not in ("timeout", "memory_mb", "near_duplicates", "near_duplicate_threshold")}
        decisive["sketched"] = self.near_duplicates != "keep"
        decisive["results_version"] = RESULTS_VERSION
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]
