import numpy as np

from pianorbm.curate.midi_read import read_smf
from pianorbm.curate.song import song_from_smf
from tests.test_midi_read import header, track


def song_of(*bodies):
    data = header(ntracks=len(bodies)) + b"".join(track(body) for body in bodies)
    return song_from_smf(read_smf(data))


def spans(song):
    return sorted(zip(song.notes.pitch.tolist(), song.notes.onset.tolist(), song.notes.offset.tolist()))


def test_overlapping_notes_of_one_pitch_end_at_the_first_note_off():
    # on@0, on@100, off@200, off@300
    song = song_of(b"\x00\x90\x3c\x40" + b"\x64\x90\x3c\x40" + b"\x64\x80\x3c\x00" + b"\x64\x80\x3c\x00")
    assert spans(song) == [(60, 0, 200), (60, 100, 200)]


def test_reattack_is_read_the_same_whichever_order_the_file_writes_it():
    off_first = song_of(b"\x00\x90\x3c\x40" + b"\x64\x80\x3c\x00" + b"\x00\x90\x3c\x40" + b"\x64\x80\x3c\x00")
    on_first = song_of(b"\x00\x90\x3c\x40" + b"\x64\x90\x3c\x40" + b"\x00\x80\x3c\x00" + b"\x64\x80\x3c\x00")
    assert spans(off_first) == spans(on_first) == [(60, 0, 100), (60, 100, 200)]


def test_zero_length_notes_are_dropped_and_counted():
    song = song_of(b"\x00\x90\x3c\x40" + b"\x00\x80\x3c\x00" + b"\x00\x90\x3e\x40" + b"\x64\x90\x3e\x00")
    assert spans(song) == [(62, 0, 100)]
    assert song.counts["zero_length"] == 1


def test_programs_follow_each_channel_over_time_across_tracks():
    conductor = b"\x00\xc1\x28"  # track 0 sets channel 1 to violin at tick 0
    piano = b"\x00\x90\x3c\x40\x64\x80\x3c\x00" + b"\x00\xc0\x06" + b"\x00\x90\x3e\x40\x64\x80\x3e\x00"
    strings = b"\x00\x91\x40\x40\x64\x81\x40\x00"
    song = song_of(conductor, piano, strings)
    by_pitch = {int(p): (int(prog), bool(e)) for p, prog, e in
                zip(song.notes.pitch, song.notes.program, song.notes.program_explicit)}
    assert by_pitch == {60: (0, False), 62: (6, True), 64: (40, True)}


def test_tempo_map_converts_ticks_to_seconds():
    body = b"\x00\xff\x51\x03\x07\xa1\x20" + b"\x83\x60\xff\x51\x03\x0f\x42\x40" + b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00"
    song = song_of(body)  # 500000 us/beat for 480 ticks, then 1 s/beat
    assert np.allclose(song.seconds_at(np.array([0, 480, 960])), [0.0, 0.5, 1.5])
