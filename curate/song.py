"""Notes, programs and the tempo map of a parsed MIDI file, as flat NumPy arrays.

Note pairing policy (decided on purpose):
- a note-on with velocity 0 is a note-off;
- a note starts at a note-on and ends at the first note-off of the same channel and pitch in the
  same track strictly after it, so notes of one pitch that overlap all end together, and a note-off
  at the same tick as a note-on closes an earlier note, not the new one (files write re-attacks in
  either order);
- a note-on with no later note-off ends at its track's last event (counted as ``unterminated``);
- notes of zero length are dropped (counted as ``zero_length``).
Programs are tracked per channel over time across all tracks, as a synthesiser does: a note gets
the last program change on its channel at or before its onset, or GM program 0 if there was none,
and ``program_explicit`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from curate.midi_read import (MAX_TICK, META_KEY_SIGNATURE, META_TEMPO, META_TIME_SIGNATURE, Smf)

DEFAULT_TEMPO_US = 500_000  # 120 quarter notes per minute
DRUM_CHANNEL = 9

NOTE_FIELDS = ("track", "channel", "pitch", "velocity", "onset", "offset", "program", "program_explicit")


@dataclass
class Notes:
    """Columns of a note table, one entry per note; times are absolute ticks (int64)."""

    track: np.ndarray
    channel: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    onset: np.ndarray
    offset: np.ndarray
    program: np.ndarray
    program_explicit: np.ndarray

    def __len__(self) -> int:
        return len(self.pitch)

    def select(self, mask: np.ndarray) -> "Notes":
        return Notes(*(getattr(self, name)[mask] for name in NOTE_FIELDS))


@dataclass
class Song:
    """Everything curation needs from one file.

    ``tempos``: (N, 2) int64 of (tick, microseconds per quarter), sorted, starting at tick 0.
    ``time_signatures`` and ``key_signatures``: lists of (tick, raw meta payload).
    ``sustain``: (M, 4) int64 of (track, tick, channel, value) for controller 64.
    ``track_names``: the track-name (or else instrument-name) meta of each track.
    """

    ticks_per_beat: int
    notes: Notes
    tempos: np.ndarray
    time_signatures: list[tuple[int, bytes]]
    key_signatures: list[tuple[int, bytes]]
    sustain: np.ndarray
    track_names: list[str]
    end_tick: int
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def seconds_at(self, ticks: np.ndarray) -> np.ndarray:
        """Converts absolute ticks to seconds through the tempo map."""
        ticks = np.asarray(ticks, dtype=np.int64)
        change_ticks, tempo_us = self.tempos[:, 0], self.tempos[:, 1].astype(np.float64)
        seconds_per_tick = tempo_us / 1e6 / self.ticks_per_beat
        start_seconds = np.concatenate([[0.0], np.cumsum(np.diff(change_ticks) * seconds_per_tick[:-1])])
        idx = np.searchsorted(change_ticks, ticks, side="right") - 1
        return start_seconds[idx] + (ticks - change_ticks[idx]) * seconds_per_tick[idx]


def _pair_notes(track_index: int, tick, status, data1, data2, end_tick: int, counts: dict) -> Notes:
    kind = status & 0xF0
    is_on = (kind == 0x90) & (data2 > 0)
    is_off = (kind == 0x80) | ((kind == 0x90) & (data2 == 0))
    key = (status & 0x0F).astype(np.int64) * 128 + data1
    off_keys = np.sort(key[is_off] * MAX_TICK + tick[is_off])
    on_idx = np.flatnonzero(is_on)
    query = key[on_idx] * MAX_TICK + tick[on_idx]
    nxt = np.searchsorted(off_keys, query, side="right")
    has_off = nxt < len(off_keys)
    has_off[has_off] = off_keys[nxt[has_off]] // MAX_TICK == key[on_idx][has_off]
    offset = np.full(len(on_idx), end_tick, dtype=np.int64)
    offset[has_off] = off_keys[nxt[has_off]] % MAX_TICK
    onset = tick[on_idx]
    counts["unterminated"] = counts.get("unterminated", 0) + int((~has_off).sum())
    keep = offset > onset
    counts["zero_length"] = counts.get("zero_length", 0) + int((~keep).sum())
    on_idx, onset, offset = on_idx[keep], onset[keep], offset[keep]
    n = len(on_idx)
    return Notes(
        track=np.full(n, track_index, dtype=np.int16),
        channel=(status[on_idx] & 0x0F).astype(np.uint8),
        pitch=data1[on_idx].astype(np.uint8),
        velocity=data2[on_idx].astype(np.uint8),
        onset=onset,
        offset=offset,
        program=np.zeros(n, dtype=np.uint8),
        program_explicit=np.zeros(n, dtype=bool),
    )


def _assign_programs(notes: Notes, smf: Smf) -> None:
    rows = []
    for track in smf.tracks:
        is_pc = (track.status & 0xF0) == 0xC0
        rows.append(np.stack([track.tick[is_pc], (track.status[is_pc] & 0x0F).astype(np.int64),
                              track.data1[is_pc].astype(np.int64)], axis=1))
    changes = np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)
    if not len(changes) or not len(notes):
        return
    order = np.argsort(changes[:, 1] * MAX_TICK + changes[:, 0], kind="stable")
    changes = changes[order]
    change_keys = changes[:, 1] * MAX_TICK + changes[:, 0]
    idx = np.searchsorted(change_keys, notes.channel.astype(np.int64) * MAX_TICK + notes.onset, side="right") - 1
    found = idx >= 0
    found[found] = changes[idx[found], 1] == notes.channel[found]
    notes.program[found] = changes[idx[found], 2]
    notes.program_explicit[:] = found


def _tempo_map(smf: Smf, warnings: set[str]) -> np.ndarray:
    events = [(tick, int.from_bytes(payload[:3], "big")) for track in smf.tracks
              for tick, kind, payload in track.metas if kind == META_TEMPO and len(payload) >= 3]
    if any(us == 0 for _, us in events):
        warnings.add("zero_tempo_ignored")
    events = [(tick, us) for tick, us in events if us > 0]
    events.sort(key=lambda event: event[0])  # stable: at one tick the last written wins below
    tempos: dict[int, int] = {}
    for tick, us in events:
        tempos[tick] = us
    if 0 not in tempos:
        tempos[0] = DEFAULT_TEMPO_US if not events else events[0][1]
    return np.array(sorted(tempos.items()), dtype=np.int64).reshape(-1, 2)


def song_from_smf(smf: Smf) -> Song:
    """Pairs notes, assigns programs and builds the tempo map of a parsed file."""
    counts: dict[str, int] = {}
    warnings = set(smf.warnings)
    parts = [_pair_notes(i, t.tick, t.status, t.data1, t.data2, t.end_tick, counts)
             for i, t in enumerate(smf.tracks)]
    notes = Notes(*(np.concatenate([getattr(p, name) for p in parts]) for name in NOTE_FIELDS))
    _assign_programs(notes, smf)
    sustain_rows = []
    for i, track in enumerate(smf.tracks):
        is_sustain = ((track.status & 0xF0) == 0xB0) & (track.data1 == 64)
        ticks = track.tick[is_sustain]
        sustain_rows.append(np.stack([np.full(len(ticks), i), ticks, (track.status[is_sustain] & 0x0F).astype(np.int64),
                                      track.data2[is_sustain].astype(np.int64)], axis=1))
    metas = [(tick, kind, payload) for track in smf.tracks for tick, kind, payload in track.metas]
    return Song(
        ticks_per_beat=smf.ticks_per_beat,
        notes=notes,
        tempos=_tempo_map(smf, warnings),
        time_signatures=sorted((t, p) for t, k, p in metas if k == META_TIME_SIGNATURE),
        key_signatures=sorted((t, p) for t, k, p in metas if k == META_KEY_SIGNATURE),
        sustain=np.concatenate(sustain_rows).astype(np.int64).reshape(-1, 4),
        track_names=[track.name or track.instrument_name for track in smf.tracks],
        end_tick=max((track.end_tick for track in smf.tracks), default=0),
        counts=counts,
        warnings=sorted(warnings),
    )
