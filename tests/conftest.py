"""Shared fixtures: the real MIDI files in ../shared/data, and small files built in code."""

from __future__ import annotations

import shutil
from pathlib import Path

import mido
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_MIDI = SHARED_DATA / "midi"


@pytest.fixture(scope="session")
def jsb_records(tmp_path_factory) -> Path:
    """Records of the JSB Chorales benchmark (published splits), built once per session."""
    from pianorbm.rolls.build_records import build_records
    from pianorbm.rolls.records_config import RecordsConfig

    pickle_path = SHARED_DATA / "benchmarks" / "JSB Chorales.pickle"
    if not pickle_path.exists():
        pytest.skip(f"{pickle_path} not found (it lives beside the checkout, as in CI)")
    out = tmp_path_factory.mktemp("jsb")
    build_records(out, RecordsConfig(shards=2), pickle_path=pickle_path)
    return out


@pytest.fixture(scope="session")
def shared_midi() -> Path:
    if not SHARED_MIDI.is_dir():
        pytest.skip(f"real MIDI files not found at {SHARED_MIDI} (they live beside the checkout, as in CI)")
    return SHARED_MIDI


def build_midi(path: Path, parts, *, ticks_per_beat: int = 480, tempo: int = 500_000, type_: int = 1) -> Path:
    """Writes a MIDI file from ``parts``: a list of dicts with keys name, channel, program (None:
    no program change), notes [(onset_tick, duration_ticks, pitch)], extra [(tick, mido.Message)]."""
    midi = mido.MidiFile(type=type_, ticks_per_beat=ticks_per_beat)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    midi.tracks.append(conductor)
    for part in parts:
        channel = part.get("channel", 0)
        events = []
        if part.get("program") is not None:
            events.append((0, 0, mido.Message("program_change", channel=channel, program=part["program"])))
        for onset, duration, pitch in part.get("notes", []):
            events.append((onset, 2, mido.Message("note_on", channel=channel, note=pitch, velocity=80)))
            events.append((onset + duration, 1, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        events += [(tick, 1, message) for tick, message in part.get("extra", [])]
        events.sort(key=lambda e: (e[0], e[1]))
        track = mido.MidiTrack()
        if part.get("name"):
            track.append(mido.MetaMessage("track_name", name=part["name"], time=0))
        last = 0
        for tick, _, message in events:
            track.append(message.copy(time=tick - last))
            last = tick
        midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(path)
    return path


def scale_notes(count: int = 64, step: int = 240, start_pitch: int = 48, length: int = 240):
    return [(i * step, length, start_pitch + (i * 5) % 36) for i in range(count)]


@pytest.fixture
def piano_file(tmp_path):
    def make(name="piece.mid", **kwargs):
        parts = kwargs.pop("parts", None) or [{"name": "Piano", "channel": 0, "program": 0, "notes": scale_notes()}]
        return build_midi(tmp_path / "raw" / name, parts, **kwargs)
    return make


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
