"""Read Standard MIDI Files into per-track event arrays.

The reader is written for hostile input: it never allocates in proportion to the times a file
claims (a 40-byte file can claim a note billions of ticks long), only to its byte length, and every
defect becomes a :class:`MidiReadError` with a reason code. Runs of channel events with two data
bytes (notes, controllers, pitch bends: nearly all of a file) are delimited by one compiled
regular expression and decoded with NumPy; the rare other events (meta, sysex, program change,
channel pressure) take a small Python path. That is about 100x faster than mido on song-sized
files (see docs/curate-speed.md); :func:`read_smf_with_mido` is the slower second opinion for files
this reader rejects.

Leniency, decided on purpose:
- running status survives meta and sysex events (the spec cancels it; many real files rely on it);
- a track chunk that runs past the end of the file is read up to the last complete event, and a
  ``truncated_track`` warning is recorded;
- system real-time bytes (0xF8-0xFE) inside a track are skipped with a warning.
Refused, with a reason: not a MIDI file, SMPTE time division, type 2 (independent patterns), a
data byte where a status is needed and there is no running status, a variable-length quantity
over four bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from pianorbm.curate.errors import MidiReadError

# A run of channel events with two data bytes: delta VLQ, optional status 0x80-0xBF or 0xE0-0xEF,
# two data bytes. The caller guarantees the running status at the start of a run has two data bytes.
_TWO_DATA_RUN = re.compile(rb"(?:[\x80-\xff]{0,3}+[\x00-\x7f][\x80-\xbf\xe0-\xef]?+[\x00-\x7f]{2})*+")
# The same for program changes and channel pressure (one data byte).
_ONE_DATA_RUN = re.compile(rb"(?:[\x80-\xff]{0,3}+[\x00-\x7f][\xc0-\xdf]?+[\x00-\x7f])*+")
_SMALL_RUN_BYTES = 48  # shorter runs are cheaper to decode one event at a time

META_END_OF_TRACK = 0x2F
META_TEMPO = 0x51
META_TIME_SIGNATURE = 0x58
META_KEY_SIGNATURE = 0x59
META_TRACK_NAME = 0x03
META_INSTRUMENT_NAME = 0x04
_KEPT_META = {META_TEMPO, META_TIME_SIGNATURE, META_KEY_SIGNATURE, META_TRACK_NAME, META_INSTRUMENT_NAME}
MAX_TICK = 1 << 52  # far beyond any real file; keeps (key, tick) composites exact in int64


@dataclass
class SmfTrack:
    """One track chunk.

    ``tick``, ``status``, ``data1``, ``data2`` hold the channel voice events in file order (ticks
    are absolute, int64; ``data2`` is 0 for one-data-byte messages). ``metas`` holds the meta
    events pianorbm uses, as ``(tick, type, payload)``. ``end_tick`` is the tick of the last event.
    """

    tick: np.ndarray
    status: np.ndarray
    data1: np.ndarray
    data2: np.ndarray
    metas: list[tuple[int, int, bytes]]
    end_tick: int

    @property
    def name(self) -> str:
        for _, kind, payload in self.metas:
            if kind == META_TRACK_NAME:
                return payload.decode("latin-1").strip()
        return ""

    @property
    def instrument_name(self) -> str:
        for _, kind, payload in self.metas:
            if kind == META_INSTRUMENT_NAME:
                return payload.decode("latin-1").strip()
        return ""


@dataclass
class Smf:
    """A parsed Standard MIDI File: header facts, tracks, and warnings about tolerated defects."""

    midi_type: int
    ticks_per_beat: int
    tracks: list[SmfTrack]
    warnings: list[str] = field(default_factory=list)
    parser: str = "pianorbm"


def _data_bytes(status: int) -> int:
    return 1 if status & 0xF0 in (0xC0, 0xD0) else 2


class _TrackReader:
    """Walks one track chunk; ``data[start:end]`` are its bytes."""

    def __init__(self, data: bytes, start: int, end: int):
        self.data, self.pos, self.end = data, start, end
        self.tick = 0
        self.running = 0
        self.blocks: list[tuple[np.ndarray, ...]] = []
        self.single: list[tuple[int, int, int, int]] = []
        self.metas: list[tuple[int, int, bytes]] = []
        self.warnings: set[str] = set()

    def _vlq(self) -> int:
        value = 0
        for _ in range(4):
            if self.pos >= self.end:
                raise EOFError
            byte = self.data[self.pos]
            self.pos += 1
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                return value
        raise MidiReadError("a variable-length quantity is longer than four bytes", "bad_varlen")

    def _take(self, count: int) -> bytes:
        if self.pos + count > self.end:
            raise EOFError
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def _fast_run(self) -> None:
        """Decodes the run of same-width channel events at ``pos`` with NumPy.

        Every event of a run has exactly one low byte (< 0x80) ending its delta time and one per
        data byte; status bytes and delta continuation bytes are high. So the low bytes, taken in
        groups, give each event's layout.
        """
        two_data = _data_bytes(self.running) == 2
        width = 3 if two_data else 2
        stop = (_TWO_DATA_RUN if two_data else _ONE_DATA_RUN).match(self.data, self.pos, self.end).end()
        if stop - self.pos < _SMALL_RUN_BYTES:
            while self.pos < stop:
                self._slow_event()
            return
        self._flush_single()
        raw = np.frombuffer(self.data, dtype=np.uint8, count=stop - self.pos, offset=self.pos)
        low = np.flatnonzero(raw < 0x80).reshape(-1, width)
        vlq_end, first_data = low[:, 0], low[:, 1]
        has_status = (first_data - vlq_end) == 2
        vlq_start = np.empty_like(vlq_end)
        vlq_start[0] = 0
        vlq_start[1:] = low[:-1, -1] + 1
        delta = raw[vlq_end].astype(np.int64)
        longest = int((vlq_end - vlq_start).max()) + 1
        for k in range(1, longest):
            inside = vlq_end - k >= vlq_start
            delta += np.where(inside, raw[np.maximum(vlq_end - k, 0)].astype(np.int64) & 0x7F, 0) << (7 * k)
        explicit = np.where(has_status, raw[vlq_end + 1], self.running)
        last_explicit = np.maximum.accumulate(np.where(has_status, np.arange(len(low)), 0))
        status = explicit[last_explicit].astype(np.uint8)
        ticks = self.tick + np.cumsum(delta)
        second = raw[low[:, 2]] if two_data else np.zeros(len(low), np.uint8)
        self.blocks.append((ticks, status, raw[first_data], second))
        self.tick = int(ticks[-1])
        self.running = int(status[-1])
        self.pos = stop

    def _slow_event(self) -> bool:
        """Reads one event; returns False at end of track."""
        self.tick += self._vlq()
        byte = self._take(1)[0]
        if byte < 0x80:
            if not self.running:
                raise MidiReadError("data byte where a status byte is needed (running status without status)",
                                    "running_status_without_status")
            status = self.running
            self.pos -= 1
        else:
            status = byte
        if status == 0xFF:
            kind = self._take(1)[0]
            payload = self._take(self._vlq())
            if kind == META_END_OF_TRACK:
                return False
            if kind in _KEPT_META:
                self.metas.append((self.tick, kind, payload))
        elif status in (0xF0, 0xF7):
            self._take(self._vlq())
        elif status >= 0xF8:
            self.warnings.add("realtime_byte_in_track")
        elif status >= 0xF0:
            self.warnings.add("system_common_in_track")
            self._take({0xF1: 1, 0xF2: 2, 0xF3: 1}.get(status, 0))
        else:
            count = _data_bytes(status)
            payload = self._take(count)
            if max(payload) >= 0x80:
                raise MidiReadError(f"status 0x{status:02X} is followed by a status byte, not data", "bad_data_byte")
            self.running = status
            self.single.append((self.tick, status, payload[0], payload[1] if count == 2 else 0))
        return True

    def read(self) -> SmfTrack:
        try:
            while self.pos < self.end:
                if self.running:
                    self._fast_run()
                    if self.pos >= self.end:
                        break
                if not self._slow_event():
                    break
        except EOFError:
            self.warnings.add("truncated_track")
        self._flush_single()
        if self.tick >= MAX_TICK:
            raise MidiReadError(f"event times reach {self.tick} ticks", "absurd_time")
        return self._assemble()

    def _flush_single(self) -> None:
        if self.single:
            cols = np.array(self.single, dtype=np.int64).T
            self.blocks.append((cols[0], cols[1].astype(np.uint8), cols[2].astype(np.uint8), cols[3].astype(np.uint8)))
            self.single = []

    def _assemble(self) -> SmfTrack:
        if self.blocks:
            tick, status, d1, d2 = (np.concatenate(col) for col in zip(*self.blocks))
        else:
            tick, status = np.zeros(0, np.int64), np.zeros(0, np.uint8)
            d1, d2 = np.zeros(0, np.uint8), np.zeros(0, np.uint8)
        return SmfTrack(tick.astype(np.int64), status, d1, d2, self.metas, self.tick)


def read_smf(data: bytes) -> Smf:
    """Parses the bytes of a Standard MIDI File (type 0 or 1).

    Raises:
        MidiReadError: with ``reason`` one of ``empty_file``, ``not_midi``, ``truncated_header``,
            ``smpte_division``, ``zero_division``, ``midi_type_2``, ``no_tracks``, or an event-level
            code (``running_status_without_status``, ``bad_data_byte``, ``bad_varlen``, ``absurd_time``).
    """
    if not data:
        raise MidiReadError("the file is empty", "empty_file")
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        start = data.find(b"MThd")
        data = data[start:] if start >= 0 else b""
    if data[:4] != b"MThd":
        raise MidiReadError("no MThd header: not a Standard MIDI File", "not_midi")
    if len(data) < 14:
        raise MidiReadError("the header chunk is cut short", "truncated_header")
    header_len = int.from_bytes(data[4:8], "big")
    if header_len < 6:
        raise MidiReadError(f"header chunk length {header_len} < 6", "truncated_header")
    midi_type = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if division & 0x8000:
        raise MidiReadError("SMPTE time division: the file has no beats to quantise to", "smpte_division")
    if division == 0:
        raise MidiReadError("zero ticks per beat", "zero_division")
    if midi_type == 2:
        raise MidiReadError("type 2 (independent sequential patterns) is not supported", "midi_type_2")
    if midi_type not in (0, 1):
        raise MidiReadError(f"unknown MIDI file type {midi_type}", "bad_midi_type")

    tracks: list[SmfTrack] = []
    warnings: set[str] = set()
    pos = 8 + header_len
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        start, end = pos + 8, pos + 8 + length
        if chunk_id != b"MTrk" and end > len(data):
            found = data.find(b"MTrk", pos + 1)  # a wrong length upstream: find the next track
            if found >= 0:
                warnings.add("resynced_chunk")
                pos = found
                continue
        if end > len(data):
            warnings.add("truncated_file")
            end = len(data)
        if chunk_id == b"MTrk":
            reader = _TrackReader(data, start, end)
            tracks.append(reader.read())
            warnings |= reader.warnings
        pos = end
    if pos < len(data):
        warnings.add("trailing_bytes")
    if not tracks:
        raise MidiReadError("no track chunks", "no_tracks")
    return Smf(midi_type, division, tracks, sorted(warnings))


def read_smf_with_mido(data: bytes) -> Smf:
    """The same result through mido (slower; used when :func:`read_smf` refuses a file)."""
    import io

    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as err:  # mido raises many types on bad input
        raise MidiReadError(f"mido: {err}", "malformed") from err
    if midi.type == 2:
        raise MidiReadError("type 2 (independent sequential patterns) is not supported", "midi_type_2")
    if not midi.ticks_per_beat or midi.ticks_per_beat <= 0:
        raise MidiReadError("no usable ticks per beat", "zero_division")
    tracks = []
    for track in midi.tracks:
        tick, rows, metas = 0, [], []
        for message in track:
            tick += message.time
            if message.is_meta:
                raw = message.bytes() if hasattr(message, "bytes") else b""
                kind = raw[1] if len(raw) > 1 else -1
                if kind in _KEPT_META:
                    payload = bytes(raw[2:])[_vlq_length(raw[2:]) :]
                    metas.append((tick, kind, payload))
            elif not message.is_realtime and message.type not in ("sysex",) and message.bytes()[0] < 0xF0:
                raw = message.bytes()
                rows.append((tick, raw[0], raw[1] if len(raw) > 1 else 0, raw[2] if len(raw) > 2 else 0))
        cols = np.array(rows, dtype=np.int64).reshape(-1, 4).T
        tracks.append(SmfTrack(cols[0], cols[1].astype(np.uint8), cols[2].astype(np.uint8),
                               cols[3].astype(np.uint8), metas, tick))
    return Smf(midi.type, midi.ticks_per_beat, tracks, [], parser="mido")


def _vlq_length(raw) -> int:
    for i, byte in enumerate(raw[:4]):
        if byte < 0x80:
            return i + 1
    return 0
