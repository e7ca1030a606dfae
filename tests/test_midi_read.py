import io
import tracemalloc

import mido
import numpy as np
import pytest

from pianorbm.curate.errors import MidiReadError
from pianorbm.curate.file_curation import parse_song
from pianorbm.curate.midi_read import read_smf, read_smf_with_mido
from pianorbm.curate.midi_write import encode_varlen
from pianorbm.curate.song import song_from_smf


def note_table(song):
    n = song.notes
    table = np.stack([n.track, n.channel, n.pitch, n.onset, n.offset, n.program, n.velocity], axis=1).astype(np.int64)
    return table[np.lexsort(table.T[::-1])]


def header(ntracks=1, division=480, midi_type=1):
    return b"MThd" + (6).to_bytes(4, "big") + midi_type.to_bytes(2, "big") + ntracks.to_bytes(2, "big") + \
        division.to_bytes(2, "big")


def track(body: bytes, declared_length=None):
    body = body + b"\x00\xff\x2f\x00"
    length = len(body) if declared_length is None else declared_length
    return b"MTrk" + length.to_bytes(4, "big") + body



def test_agrees_with_mido_on_every_real_file(shared_midi):
    compared = 0
    for path in sorted([*(shared_midi / "piano").iterdir(), *(shared_midi / "mixed").iterdir()]):
        data = path.read_bytes()
        ours = song_from_smf(read_smf(data))
        theirs = song_from_smf(read_smf_with_mido(data))
        assert np.array_equal(note_table(ours), note_table(theirs)), path.name
        assert np.array_equal(ours.tempos, theirs.tempos), path.name
        compared += 1
    assert compared >= 150


def test_broken_files_give_reasons_not_exceptions(shared_midi):
    outcomes = {}
    for path in sorted((shared_midi / "broken").iterdir()):
        try:
            song, parser = parse_song(path.read_bytes())
            outcomes[path.name] = ("read", parser, len(song.notes))
        except MidiReadError as err:
            assert err.reason and str(err)
            outcomes[path.name] = ("refused", err.reason)
    assert outcomes["test-not-a-midi-file.mid"] == ("refused", "not_midi")
    assert outcomes["test-empty-file.mid"] == ("refused", "empty_file")
    assert outcomes["test-2-tracks-type-2.mid"] == ("refused", "midi_type_2")
    # mido reads past an out-of-range controller value that the fast reader refuses
    assert outcomes["miditok__ValueError_Control168.mid"][:2] == ("read", "mido")


def test_running_status_runs_with_mixed_statuses_match_mido():
    rng = np.random.default_rng(0)
    body = b"\x00\xc0\x05"  # program change first: the run must start after it
    status = None
    for i in range(400):
        delta = int(rng.choice([0, 5, 200, 20000, 3_000_000]))
        new = int(rng.choice([0x90, 0x91, 0xB0, 0xE1]))
        explicit = new != status or rng.random() < 0.1
        body += encode_varlen(delta) + (bytes([new]) if explicit else b"") + bytes([rng.integers(0, 128), rng.integers(1, 128)])
        status = new
        if i % 97 == 0:
            body += b"\x00\xff\x01\x03abc" + b"\x00\xd2\x40" + b"\x01\x41"  # meta, then pressure with running status
            status = 0xD2
            body += b"\x00\x92\x3c\x40"
            status = 0x92
    data = header() + track(body)
    ours = read_smf(data).tracks[0]
    reference = read_smf_with_mido(data).tracks[0]
    for column in ("tick", "status", "data1", "data2"):
        assert np.array_equal(getattr(ours, column), getattr(reference, column)), column


@pytest.mark.parametrize("data, reason", [
    (b"", "empty_file"),
    (b"garbage that is not midi at all", "not_midi"),
    (b"MThd\x00\x00", "truncated_header"),
    (header(division=0xE728) + track(b"\x00\x90\x3c\x40"), "smpte_division"),
    (header(division=0) + track(b"\x00\x90\x3c\x40"), "zero_division"),
    (header(midi_type=2) + track(b"\x00\x90\x3c\x40"), "midi_type_2"),
    (header() + track(b"\x00\x3c\x40"), "running_status_without_status"),
    (header() + track(b"\x00\x90\x3c\x90"), "bad_data_byte"),
    (header() + track(b"\xff\xff\xff\xff\x7f\x90\x3c\x40"), "bad_varlen"),
])
def test_hostile_headers_and_events_are_refused_with_a_reason(data, reason):
    with pytest.raises(MidiReadError) as caught:
        read_smf(data)
    assert caught.value.reason == reason


def test_truncated_track_keeps_complete_events_and_warns():
    body = b"\x00\x90\x3c\x40" + b"\x60\x80\x3c\x00" + b"\x00\x90\x3e\x40" + b"\x60\x80"
    smf = read_smf(header() + b"MTrk" + (100).to_bytes(4, "big") + body)
    assert "truncated_track" in smf.warnings and "truncated_file" in smf.warnings
    song = song_from_smf(smf)
    assert sorted(song.notes.pitch.tolist()) == [60, 62]
    assert song.counts["unterminated"] == 1


def test_zero_tempo_is_ignored_with_a_warning():
    body = b"\x00\xff\x51\x03\x00\x00\x00" + b"\x00\x90\x3c\x40" + b"\x83\x60\x80\x3c\x00"
    song = song_from_smf(read_smf(header() + track(body)))
    assert "zero_tempo_ignored" in song.warnings
    assert song.tempos.tolist() == [[0, 500_000]]
    assert song.seconds_at(np.array([480]))[0] == pytest.approx(0.5)


def test_a_note_billions_of_ticks_long_allocates_nothing_in_proportion():
    huge = (1 << 28) - 1
    body = b"\x00\x90\x3c\x40" + b"".join(encode_varlen(huge) + b"\xff\x01\x00" for _ in range(20)) + \
        encode_varlen(huge) + b"\x80\x3c\x00"
    data = header() + track(body)
    assert len(data) < 200
    tracemalloc.start()
    song = song_from_smf(read_smf(data))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert int(song.notes.offset[0] - song.notes.onset[0]) == 21 * huge  # about 5.6 billion ticks
    assert peak < 2 * 2**20
    assert song.seconds_at(song.notes.offset)[0] > 1e6


def test_notes_without_note_off_end_at_the_end_of_their_track():
    body = b"\x00\x90\x3c\x40" + b"\x83\x60\x90\x40\x40" + b"\x83\x60\xff\x01\x00"
    song = song_from_smf(read_smf(header() + track(body)))
    assert song.notes.offset.tolist() == [960, 960]
    assert song.counts["unterminated"] == 2


def test_mido_fallback_reads_the_same_as_the_fast_reader_on_a_normal_file(tmp_path):
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=64, time=0),
                                       mido.Message("note_off", note=60, velocity=0, time=480)]))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    fast, _ = parse_song(buffer.getvalue(), "pianorbm")
    slow, parser = parse_song(buffer.getvalue(), "mido")
    assert parser == "mido"
    assert np.array_equal(note_table(fast), note_table(slow))
