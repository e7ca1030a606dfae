"""Piano-roll figures people read: pitch names at every C, bar lines, time in bars (matplotlib).

Used for the sample pictures (PNG beside each MIDI file, shown in the report) and for the
TensorBoard images of training. Without a beat grid (a seconds grid), time is in seconds.
"""

from __future__ import annotations

import io

import numpy as np

from pianorbm.rolls.pianoroll import LOWEST_PITCH

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def note_bars(roll: np.ndarray) -> list[tuple[int, int, int]]:
    """(key, first frame, frames) of each note of ``roll`` (T, 88): a key held over consecutive frames is
    one note, as roll_to_midi writes it (without reattack)."""
    roll = np.asarray(roll, dtype=bool)
    padded = np.zeros((len(roll) + 2, roll.shape[1]), bool)
    padded[1:-1] = roll
    change = np.diff(padded.astype(np.int8), axis=0)  # +1 where a note starts, -1 after it ends
    starts, ends = np.nonzero(change.T == 1), np.nonzero(change.T == -1)
    return [(int(key), int(start), int(end - start)) for key, start, end in zip(starts[0], starts[1], ends[1])]


def roll_figure_png(roll: np.ndarray, *, steps_per_quarter: int | None = 4, dt: float | None = None,
                    beats_per_bar: int = 4, title: str = "", dpi: int = 100) -> bytes:
    """A PNG of ``roll`` (T, 88): keys on the y axis named at each C, the sounding range only (at least
    two octaves), bar lines and bar numbers from the grid (or seconds), notes as bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    roll = np.asarray(roll, dtype=bool)
    steps = max(len(roll), 1)
    keys = np.nonzero(roll.any(0))[0]
    low, high = (int(keys.min()), int(keys.max())) if len(keys) else (39, 51)  # C4 +- an octave when silent
    middle = (low + high) // 2
    low, high = max(0, min(low - 2, middle - 12)), min(roll.shape[1] - 1, max(high + 2, middle + 12))
    width = min(16.0, max(8.0, steps / 16))
    figure, axes = plt.subplots(figsize=(width, 4.2), dpi=dpi)
    axes.set_ylim(low + LOWEST_PITCH - 0.5, high + LOWEST_PITCH + 0.5)
    by_key: dict[int, list[tuple[int, int]]] = {}
    for key, start, length in note_bars(roll):
        by_key.setdefault(key, []).append((start, length))
    for key, spans in by_key.items():  # one bar per note, over the grid lines, its ends outlined
        axes.broken_barh(spans, (key + LOWEST_PITCH - 0.42, 0.84), facecolors="#3c78c3", edgecolors="#16365e",
                         linewidth=0.6, zorder=3)
    c_pitches = [p for p in range(low + LOWEST_PITCH, high + LOWEST_PITCH + 1) if p % 12 == 0]
    axes.set_yticks(c_pitches, [pitch_name(p) for p in c_pitches])
    for pitch in c_pitches:
        axes.axhline(pitch - 0.5, color="#bbbbbb", linewidth=0.6, zorder=1)
    if steps_per_quarter:
        bar = steps_per_quarter * beats_per_bar
        bars = range(0, steps + 1, bar)
        for start in bars:
            axes.axvline(start, color="#888888", linewidth=0.8, zorder=1)
        for beat in range(0, steps + 1, steps_per_quarter):
            if beat % bar:
                axes.axvline(beat, color="#dddddd", linewidth=0.4, zorder=1)
        every = max(1, len(bars) // 16)
        axes.set_xticks([b for i, b in enumerate(bars) if i % every == 0],
                        [str(i + 1) for i, _ in enumerate(bars) if i % every == 0])
        axes.set_xlabel(f"bar ({beats_per_bar}/4, {steps_per_quarter} step{'s' if steps_per_quarter > 1 else ''} per quarter note)")
    else:
        seconds = steps * (dt or 1.0)
        ticks = np.arange(0, seconds + 1e-9, max(1.0, round(seconds / 12)))
        axes.set_xticks(ticks / (dt or 1.0), [f"{t:g}" for t in ticks])
        axes.set_xlabel("seconds")
    axes.set_xlim(0, steps)
    axes.set_ylabel("pitch")
    if title:
        axes.set_title(title, fontsize=11, loc="left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
