"""The settings of ``pianorbm build-records``: how rolls are made and split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pianorbm.common.settings import SettingsError, check_settings, parse_fractions, parse_int_range, setting

DEFAULT_STEPS_PER_QUARTER = 4


@dataclass(frozen=True)
class RecordsConfig:
    """How rolls are made and split. A benchmark pickle keeps its published splits (``split`` is
    then ignored) and, unless told otherwise, its own resolution."""

    steps_per_quarter: int | None = setting(
        None, f"Grid steps per quarter note [{DEFAULT_STEPS_PER_QUARTER}; for a benchmark pickle, its own resolution].",
        low=1)
    dt: float | None = setting(None, "Seconds per step (a seconds grid through the tempo map) instead of "
                                     "--steps-per-quarter.", low=0.001)
    split: tuple[float, float, float] = setting((0.8, 0.1, 0.1), "train,valid,test fractions (by piece content).",
                                                parse=parse_fractions, metavar="TRAIN,VALID,TEST")
    transpose: tuple[int, int] = setting((0, 0), "Semitone range of transposed copies added to train, e.g. -5..6.",
                                         parse=parse_int_range, metavar="LOW..HIGH")
    shards: int = setting(8, "Most TFRecord files per split.", low=1)
    sustain: bool = setting(True, "Apply the sustain pedal to note lengths.")
    key_normalise: bool = setting(False, "Transpose each piece to C major / A minor from its estimated key.")
    out_of_range: str = setting("drop", "What to do with pitches outside MIDI 21-108.", choices=("drop", "fold"))
    min_frames: int = setting(2, "Shorter pieces are dropped.", low=1)
    max_frames: int = setting(100_000, "Longer pieces are dropped (this bounds the memory per piece).", low=1)

    def __post_init__(self):
        check_settings(self)
        if self.steps_per_quarter is not None and self.dt is not None:
            raise SettingsError("dt", self.dt, "give steps_per_quarter or dt (seconds per step), not both")
        if self.steps_per_quarter is None and self.dt is None:
            object.__setattr__(self, "steps_per_quarter", DEFAULT_STEPS_PER_QUARTER)
        if self.min_frames > self.max_frames:
            raise SettingsError("min_frames", self.min_frames, f"at most max_frames ({self.max_frames})")

    def to_dict(self) -> dict:
        return {**asdict(self), "split": list(self.split), "transpose": list(self.transpose)}
