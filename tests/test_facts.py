import numpy as np

from pianorbm.curate.facts import content_hash, polyphony
from pianorbm.curate.file_curation import parse_song
from tests.conftest import build_midi, scale_notes


def test_polyphony_is_time_weighted_over_sounding_time():
    onset, offset = np.array([0, 0, 100, 400]), np.array([200, 100, 200, 500])
    mean, peak = polyphony(onset, offset)
    assert peak == 2
    assert mean == (2 * 200 + 1 * 100) / 300  # 0-200 two notes, 400-500 one; silence not counted


def test_polyphony_releases_before_attacks_at_the_same_tick():
    assert polyphony(np.array([0, 100]), np.array([100, 200])) == (1.0, 1)


def test_content_hash_ignores_resolution_tracks_and_velocity(tmp_path):
    notes = scale_notes(40)
    one = build_midi(tmp_path / "a.mid", [{"name": "Piano", "notes": notes}], ticks_per_beat=480)
    doubled = [(o * 2, d * 2, p) for o, d, p in notes]
    other = build_midi(tmp_path / "b.mid", [{"name": "RH", "channel": 3, "notes": doubled[::2]},
                                            {"name": "LH", "channel": 4, "notes": doubled[1::2]}],
                       ticks_per_beat=960)
    changed = build_midi(tmp_path / "c.mid", [{"name": "Piano", "notes": notes[:-1] + [(notes[-1][0], 1, 60)]}])
    hashes = []
    for path in (one, other, changed):
        song, _ = parse_song(path.read_bytes())
        hashes.append(content_hash(song.notes, song.ticks_per_beat))
    assert hashes[0] == hashes[1] != hashes[2]
