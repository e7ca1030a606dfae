"""The facts a curator sorts by, computed from a song's note table without any time grid.

Everything here costs O(notes log notes) whatever times the file claims: polyphony is an event
sweep, durations go through the tempo map.
"""

from __future__ import annotations

import hashlib

import numpy as np

from pianorbm.curate.song import DRUM_CHANNEL, Notes, Song

HASH_STEPS_PER_BEAT = 96  # content-hash grid: absorbs re-saves at another resolution


def polyphony(onset: np.ndarray, offset: np.ndarray) -> tuple[float, int]:
    """(mean, max) number of notes sounding together; the mean is weighted by time and taken
    over the time when at least one note sounds. Ties release before they attack."""
    if not len(onset):
        return 0.0, 0
    times = np.concatenate([offset, onset])
    steps = np.concatenate([-np.ones(len(offset), np.int64), np.ones(len(onset), np.int64)])
    order = np.lexsort((steps, times))
    times, level = times[order], np.cumsum(steps[order])
    spans = np.diff(times)
    sounding = level[:-1] > 0
    busy = spans[sounding].sum()
    mean = float((level[:-1][sounding] * spans[sounding]).sum() / busy) if busy else 0.0
    return mean, int(level.max())


def content_hash(notes: Notes, ticks_per_beat: int) -> str:
    """sha256 of the set of (onset, duration, pitch), in 1/96 beats: equal for re-saved, renamed or
    re-tracked copies of one piece; velocity, channel and program do not count."""
    grid = HASH_STEPS_PER_BEAT / ticks_per_beat
    table = np.stack([np.rint(notes.onset * grid), np.rint((notes.offset - notes.onset) * grid),
                      notes.pitch.astype(np.float64)], axis=1).astype(np.int64)
    if len(table) and table[:, 0].max() < 1 << 36 and 0 <= table[:, 1].min() and table[:, 1].max() < 1 << 20:
        packed = np.unique((table[:, 0] << 27) | (table[:, 1] << 7) | table[:, 2])
        table = np.stack([packed >> 27, (packed >> 7) & ((1 << 20) - 1), packed & 0x7F], axis=1)
    else:
        table = table[np.lexsort(table.T[::-1])]
        table = table[np.concatenate([[True], (table[1:] != table[:-1]).any(axis=1)])] if len(table) else table
    return hashlib.sha256(table.astype("<i8").tobytes()).hexdigest()


def song_facts(song: Song) -> dict:
    """Manifest columns describing the whole file (all tracks, before any selection)."""
    notes = song.notes
    pitched = notes.channel != DRUM_CHANNEL
    melodic = notes.select(pitched)
    mean_poly, max_poly = polyphony(melodic.onset, melodic.offset)
    last_tick = int(notes.offset.max()) if len(notes) else 0
    programs = [(int(code) >> 1, bool(code & 1))
                for code in np.unique(melodic.program.astype(np.int64) * 2 + melodic.program_explicit)]
    signatures = [payload for _, payload in song.time_signatures]
    return {
        "ticks_per_beat": song.ticks_per_beat,
        "tracks": len(song.track_names),
        "track_names": ";".join(name for name in song.track_names if name),
        "channels": ";".join(str(c) for c in np.unique(notes.channel)),
        "programs": ";".join(str(p) for p, _ in programs),
        "programs_explicit": ";".join("yes" if e else "no" for _, e in programs),
        "notes": int(len(notes)),
        "drum_notes": int((~pitched).sum()),
        "duration_s": round(float(song.seconds_at(np.array([last_tick]))[0]), 3),
        "duration_beats": round(last_tick / song.ticks_per_beat, 3),
        "tempo_changes": max(len(song.tempos) - 1, 0),
        "time_signature_changes": sum(a != b for a, b in zip(signatures, signatures[1:])),
        "pitch_min": int(melodic.pitch.min()) if len(melodic) else None,
        "pitch_max": int(melodic.pitch.max()) if len(melodic) else None,
        "polyphony_mean": round(mean_poly, 3),
        "polyphony_max": max_poly,
        "unterminated_notes": song.counts.get("unterminated", 0),
        "zero_length_notes": song.counts.get("zero_length", 0),
    }
