import io

import mido
import numpy as np

from pianorbm.curate.file_curation import parse_song
from pianorbm.curate.midi_write import encode_channel_events, encode_clean_midi
from tests.test_midi_read import note_table


def test_clean_file_round_trips_through_our_reader_and_mido(shared_midi):
    for name in ("miditok__Maestro_2.mid", "playmidi__bach-invention-01.mid", "m21_joplin_maple_leaf_rag.mid"):
        song, _ = parse_song((shared_midi / "piano" / name).read_bytes())
        keep = np.ones(len(song.notes), dtype=bool)
        clean = encode_clean_midi(song, keep)
        again, _ = parse_song(clean, "pianorbm")
        via_mido, _ = parse_song(clean, "mido")
        columns = [2, 3, 4, 6]  # pitch, onset, offset, velocity: tracks and channels are renumbered
        expected = note_table(song)[:, columns]
        for reread in (again, via_mido):
            got = note_table(reread)[:, columns]
            assert np.array_equal(got[np.lexsort(got.T[::-1])], expected[np.lexsort(expected.T[::-1])]), name
        assert np.array_equal(again.tempos, song.tempos)
        assert len(again.sustain) == len(song.sustain)
        mido.MidiFile(file=io.BytesIO(clean))  # strict parse succeeds


def test_delta_times_use_every_varlen_width():
    ticks = np.array([0, 127, 128, 16511, 16512, 2113663, 2113664 + 2**27])
    data = encode_channel_events(ticks, np.full(7, 0xB0), np.full(7, 64), np.zeros(7))
    track = mido.MidiTrack(mido.MidiFile(file=io.BytesIO(
        b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk" + (len(data) + 4).to_bytes(4, "big") + data
        + b"\x00\xff\x2f\x00")).tracks[0])
    assert np.cumsum([m.time for m in track][:-1]).tolist() == ticks.tolist()
