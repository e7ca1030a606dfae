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

from pianorbm.curate.errors import MidiWriteError
from pianorbm.curate.midi_read import META_KEY_SIGNATURE, META_TEMPO, META_TIME_SIGNATURE, META_TRACK_NAME
from pianorbm.curate.song import DRUM_CHANNEL, Notes, Song

MAX_DELTA = (1 << 28) - 1
_USABLE_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]


def encode_varlen(value: int) -> bytes:
    """A MIDI variable-length quantity (big-endian 7-bit groups, high bit set on all but the last)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def _meta(delta: int, kind: int, payload: bytes) -> bytes:
    return encode_varlen(delta) + bytes([0xFF, kind]) + encode_varlen(len(payload)) + payload


def _chunk(body: bytes) -> bytes:
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def encode_channel_events(tick: np.ndarray, status: np.ndarray, data1: np.ndarray, data2: np.ndarray,
                          start_tick: int = 0) -> bytes:
    """Encodes time-sorted three-byte channel events as delta-timed track bytes (no running status)."""
    if not len(tick):
        return b""
    tick = np.asarray(tick, dtype=np.int64)
    delta = tick - np.concatenate(([start_tick], tick[:-1]))
    if delta.min() < 0:
        raise MidiWriteError("events are not sorted by time")
    longest = int(delta.max())
    if longest > MAX_DELTA:
        raise MidiWriteError(f"a gap of {longest} ticks does not fit a MIDI delta time", "gap_too_long")
    widest = 1 + (longest >= 1 << 7) + (longest >= 1 << 14) + (longest >= 1 << 21)
    table = np.empty((len(delta), widest + 3), dtype=np.uint8)
    for k in range(widest):
        table[:, widest - 1 - k] = ((delta >> (7 * k)) & 0x7F) | (0x80 if k else 0)
    table[:, widest], table[:, widest + 1], table[:, widest + 2] = status, data1, data2
    if widest == 1:
        return table.tobytes()
    width = 1 + (delta >= 1 << 7) + (delta >= 1 << 14) + (delta >= 1 << 21)
    keep = np.ones_like(table, dtype=bool)
    keep[:, :widest] = np.arange(widest)[None, :] >= (widest - width)[:, None]
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


def _part_track(notes: Notes, sustain: np.ndarray, name: str, channel: int, program: int) -> bytes:
    header = _meta(0, META_TRACK_NAME, name.encode("latin-1", "replace")) + bytes([0, 0xC0 | channel, program])
    n, m = len(notes), len(sustain)
    tick = np.concatenate([notes.offset, sustain[:, 1], notes.onset])
    kind = np.concatenate([np.zeros(n, np.int64), np.ones(m, np.int64), np.full(n, 2)])  # at a tick: off, pedal, on
    status = np.concatenate([np.full(n, 0x80 | channel), np.full(m, 0xB0 | channel), np.full(n, 0x90 | channel)])
    data1 = np.concatenate([notes.pitch, np.full(m, 64), notes.pitch])
    data2 = np.concatenate([np.zeros(n), sustain[:, 3], notes.velocity])
    order = np.argsort(tick * 3 + kind, kind="stable")
    body = encode_channel_events(tick[order], status[order], data1[order], data2[order])
    return _chunk(header + body)


def encode_clean_midi(song: Song, keep: np.ndarray) -> bytes:
    """The bytes of a type-1 file holding the notes ``song.notes[keep]`` (see module docstring)."""
    notes = song.notes.select(keep)
    part_keys = np.unique((notes.track.astype(np.int64) << 16) | (notes.channel.astype(np.int64) << 8) | notes.program)
    parts = [(key >> 16, (key >> 8) & 0xFF, key & 0xFF) for key in part_keys.tolist()]
    programs = sorted({program for _, _, program in parts})
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
        chunks.append(_part_track(notes.select(mask), pedal, name, channel_of[int(program)], int(program)))
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + len(chunks).to_bytes(2, "big")
    return header + song.ticks_per_beat.to_bytes(2, "big") + b"".join(chunks)
