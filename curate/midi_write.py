"""Write the clean MIDI file of a curated song, vectorised with NumPy.

The clean file is type 1 at the source's ticks per beat (so no time is rounded): a conductor
track with the tempo map and the time and key signatures, then one track per kept
(source track, channel, program) part with its name, an explicit program change at tick 0, its
notes (note-off as 0x80 velocity 0), and its sustain pedal (controller 64). Each distinct program
gets its own channel (0-15, never the drum channel 9), so a program change never leaks between
parts. Notes of one pitch that overlap are written as they are; :mod:`curate.song` reads them back
identically.
"""

from __future__ import annotations

import numpy as np

from curate.errors import MidiWriteError
from curate.midi_read import META_KEY_SIGNATURE, META_TEMPO, META_TIME_SIGNATURE, META_TRACK_NAME
from curate.song import DRUM_CHANNEL, Notes, Song

MAX_DELTA = (1 << 28) - 1
_USABLE_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def _meta(delta: int, kind: int, payload: bytes) -> bytes:
    return _vlq(delta) + bytes([0xFF, kind]) + _vlq(len(payload)) + payload


def _chunk(body: bytes) -> bytes:
    return b"MTrk" + len(body).to_bytes(4, "big") + body + b"\x00\xff\x2f\x00"


def encode_channel_events(tick: np.ndarray, status: np.ndarray, data1: np.ndarray, data2: np.ndarray,
                          start_tick: int = 0) -> bytes:
    """Encodes time-sorted three-byte channel events as delta-timed track bytes (no running status)."""
    if not len(tick):
        return b""
    delta = np.diff(tick, prepend=start_tick).astype(np.int64)
    if delta.min() < 0:
        raise MidiWriteError("events are not sorted by time")
    if delta.max() > MAX_DELTA:
        raise MidiWriteError(f"a gap of {int(delta.max())} ticks does not fit a MIDI delta time", "gap_too_long")
    table = np.empty((len(delta), 7), dtype=np.uint8)
    for k in range(4):
        table[:, 3 - k] = ((delta >> (7 * k)) & 0x7F) | (0x80 if k else 0)
    table[:, 4], table[:, 5], table[:, 6] = status, data1, data2
    width = 1 + (delta >= 1 << 7) + (delta >= 1 << 14) + (delta >= 1 << 21)
    keep = np.ones_like(table, dtype=bool)
    keep[:, :4] = np.arange(4)[None, :] >= (4 - width)[:, None]
    return table[keep].tobytes()


def _conductor(song: Song) -> bytes:
    events = [(int(t), META_TEMPO, int(us).to_bytes(3, "big")) for t, us in song.tempos]
    events += [(t, META_TIME_SIGNATURE, p) for t, p in song.time_signatures]
    events += [(t, META_KEY_SIGNATURE, p) for t, p in song.key_signatures]
    events.sort(key=lambda e: e[0])
    body, last = [], 0
    for tick, kind, payload in events:
        body.append(_meta(tick - last, kind, payload))
        last = tick
    return _chunk(b"".join(body))


def _part_track(song: Song, notes: Notes, sustain: np.ndarray, name: str, channel: int, program: int) -> bytes:
    header = _meta(0, META_TRACK_NAME, name.encode("latin-1", "replace")) + bytes([0, 0xC0 | channel, program])
    n, m = len(notes), len(sustain)
    tick = np.concatenate([notes.offset, sustain[:, 1], notes.onset])
    kind = np.concatenate([np.zeros(n), np.ones(m), np.full(n, 2)])  # at one tick: off, pedal, on
    status = np.concatenate([np.full(n, 0x80 | channel), np.full(m, 0xB0 | channel), np.full(n, 0x90 | channel)])
    data1 = np.concatenate([notes.pitch, np.full(m, 64), notes.pitch])
    data2 = np.concatenate([np.zeros(n), sustain[:, 3], notes.velocity])
    order = np.lexsort((kind, tick))
    body = encode_channel_events(tick[order], status[order], data1[order], data2[order])
    return _chunk(header + body)


def encode_clean_midi(song: Song, keep: np.ndarray) -> bytes:
    """The bytes of a type-1 file holding the notes ``song.notes[keep]`` (see module docstring)."""
    notes = song.notes.select(keep)
    parts = np.unique(np.stack([notes.track, notes.channel, notes.program], axis=1).astype(np.int64), axis=0)
    programs = sorted({int(p) for p in parts[:, 2]})
    channel_of = {p: _USABLE_CHANNELS[i % len(_USABLE_CHANNELS)] for i, p in enumerate(programs)}
    chunks, pedal_done = [_conductor(song)], set()
    for track, channel, program in parts:
        mask = (notes.track == track) & (notes.channel == channel) & (notes.program == program)
        source = (int(track), int(channel))
        pedal = song.sustain[(song.sustain[:, 0] == track) & (song.sustain[:, 2] == channel)]
        if source in pedal_done:
            pedal = pedal[:0]
        pedal_done.add(source)
        name = song.track_names[track] if track < len(song.track_names) else ""
        chunks.append(_part_track(song, notes.select(mask), pedal, name, channel_of[int(program)], int(program)))
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + len(chunks).to_bytes(2, "big")
    return header + song.ticks_per_beat.to_bytes(2, "big") + b"".join(chunks)
