"""Notes, programs and the tempo map of a parsed MIDI file, as flat NumPy arrays.

Note pairing policy (decided on purpose):
- a note-on with velocity 0 is a note-off;
- a note starts at a note-on and ends at the first note-off of the same channel and pitch in the
  same track strictly after it, so notes of one pitch that overlap all end together, and a note-off
  at the same tick as a note-on closes an earlier note, not the new one (files write re-attacks in
  either order);
- a note-on whose only note-off is at its own tick has zero length; one with no note-off at or
  after it ends at its track's last event (counted as ``unterminated``);
- notes of zero length are dropped (counted as ``zero_length``).
Programs are tracked per channel over time across all tracks, as a synthesiser does: a note gets
the last program change on its channel at or before its onset, or GM program 0 if there was none,
and ``program_explicit`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pianorbm.curate.midi_read import META_KEY_SIGNATURE, META_TEMPO, META_TIME_SIGNATURE, Smf

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


def _pair_notes(track, tick, status, data1, data2, track_end, counts: dict) -> Notes:
    """Pairs note-ons with note-offs (policy in the module docstring); arrays are events in file
    order within each track, ``track_end`` the end tick of each event's track."""
    span = int(tick.max()) + 1 if len(tick) else 1
    kind = status & 0xF0
    is_on = (kind == 0x90) & (data2 > 0)
    is_off = (kind == 0x80) | ((kind == 0x90) & (data2 == 0))
    key = (track.astype(np.int64) * 16 + (status & 0x0F)) * 128 + data1
    off_keys = np.sort(key[is_off] * span + tick[is_off])
    on_idx = np.flatnonzero(is_on)
    query = key[on_idx] * span + tick[on_idx]
    nxt = np.searchsorted(off_keys, query, side="right")
    has_off = nxt < len(off_keys)
    has_off[has_off] = off_keys[nxt[has_off]] // span == key[on_idx][has_off]
    onset = tick[on_idx]
    offset = track_end[on_idx].copy()
    offset[has_off] = off_keys[nxt[has_off]] % span
    open_ = np.flatnonzero(~has_off)
    if len(open_):
        closed_at_once = np.searchsorted(off_keys, query[open_], side="left") < nxt[open_]
        offset[open_[closed_at_once]] = onset[open_[closed_at_once]]
        counts["unterminated"] = counts.get("unterminated", 0) + int((~closed_at_once).sum())
    keep = offset > onset
    counts["zero_length"] = counts.get("zero_length", 0) + int(len(keep) - keep.sum())
    on_idx, onset, offset = on_idx[keep], onset[keep], offset[keep]
    n = len(on_idx)
    return Notes(
        track=track[on_idx].astype(np.int16),
        channel=(status[on_idx] & 0x0F).astype(np.uint8),
        pitch=data1[on_idx].astype(np.uint8),
        velocity=data2[on_idx].astype(np.uint8),
        onset=onset,
        offset=offset,
        program=np.zeros(n, dtype=np.uint8),
        program_explicit=np.zeros(n, dtype=bool),
    )


def _assign_programs(notes: Notes, tick, status, data1) -> None:
    is_change = (status & 0xF0) == 0xC0
    if not is_change.any() or not len(notes):
        return
    span = int(max(tick.max(), notes.onset.max())) + 1
    channel = (status[is_change] & 0x0F).astype(np.int64)
    change_keys = channel * span + tick[is_change]
    order = np.argsort(change_keys, kind="stable")  # same tick: the later track wins, as it is applied later
    change_keys, programs = change_keys[order], data1[is_change][order]
    idx = np.searchsorted(change_keys, notes.channel.astype(np.int64) * span + notes.onset, side="right") - 1
    found = idx >= 0
    found[found] = change_keys[idx[found]] // span == notes.channel[found]
    notes.program[found] = programs[idx[found]]
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
    lengths = [len(t.tick) for t in smf.tracks]
    track = np.repeat(np.arange(len(smf.tracks), dtype=np.int64), lengths)
    tick, status, data1, data2 = (np.concatenate([getattr(t, name) for t in smf.tracks])
                                  for name in ("tick", "status", "data1", "data2"))
    track_end = np.repeat(np.array([t.end_tick for t in smf.tracks], dtype=np.int64), lengths)
    if len(smf.tracks) * 2048 * (int(tick.max(initial=0)) + 1) < 1 << 62:
        notes = _pair_notes(track, tick, status, data1, data2, track_end, counts)
    else:  # composite keys would overflow: one track at a time
        parts = [_pair_notes(track[m], tick[m], status[m], data1[m], data2[m], track_end[m], counts)
                 for m in (track == i for i in range(len(smf.tracks)))]
        notes = Notes(*(np.concatenate([getattr(p, name) for p in parts]) for name in NOTE_FIELDS))
    _assign_programs(notes, tick, status, data1)
    is_sustain = ((status & 0xF0) == 0xB0) & (data1 == 64)
    sustain = np.stack([track[is_sustain], tick[is_sustain], (status[is_sustain] & 0x0F).astype(np.int64),
                        data2[is_sustain].astype(np.int64)], axis=1)
    metas = [(tick, kind, payload) for t in smf.tracks for tick, kind, payload in t.metas]
    return Song(
        ticks_per_beat=smf.ticks_per_beat,
        notes=notes,
        tempos=_tempo_map(smf, warnings),
        time_signatures=sorted((t, p) for t, k, p in metas if k == META_TIME_SIGNATURE),
        key_signatures=sorted((t, p) for t, k, p in metas if k == META_KEY_SIGNATURE),
        sustain=sustain,
        track_names=[t.name or t.instrument_name for t in smf.tracks],
        end_tick=max((t.end_tick for t in smf.tracks), default=0),
        counts=counts,
        warnings=sorted(warnings),
    )
