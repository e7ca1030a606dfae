import io

import mido
import numpy as np
import pytest

from pianorbm.curate.file_curation import parse_song
from pianorbm.rolls.keys import estimate_key
from pianorbm.rolls.pianoroll import (KEYS, active_cells, cells_to_roll, notes_to_grid, notes_to_roll, roll_to_cells,
                                 roll_to_midi)
from tests.conftest import SHARED_DATA, build_midi

POP909 = SHARED_DATA / "pop909"


def song_from_parts(tmp_path, parts, **kwargs):
    path = build_midi(tmp_path / "x.mid", parts, **kwargs)
    return parse_song(path.read_bytes())[0]


def roll_of(tmp_path, notes, **grid):
    song = song_from_parts(tmp_path, [{"name": "Piano", "notes": notes}])
    return notes_to_roll(song, song.notes, **grid)


def test_columns_are_midi_21_to_108(tmp_path):
    roll = roll_of(tmp_path, [(0, 480, 21), (0, 480, 108), (0, 480, 60)])
    assert roll.shape == (4, 88) and roll.dtype == bool
    assert np.flatnonzero(roll[0]).tolist() == [0, 39, 87]


def test_rounding_and_short_notes(tmp_path):
    # 480 ticks per quarter, 4 steps per quarter: 120 ticks per step
    roll = roll_of(tmp_path, [(59, 10, 60), (60, 10, 62), (170, 200, 64)])
    on = {KEYS_ + 21: np.flatnonzero(roll[:, KEYS_]).tolist() for KEYS_ in np.flatnonzero(roll.any(axis=0))}
    assert on == {60: [0], 62: [1], 64: [1, 2]}  # 59 -> step 0; 60 -> 0.5 rounds up; a 10-tick note lasts a step


def test_beat_grid_ignores_tempo_and_seconds_grid_follows_it(tmp_path):
    parts = [{"name": "Piano", "notes": [(0, 480, 60), (960, 480, 62)],
              "extra": [(480, mido.MetaMessage("set_tempo", tempo=1_000_000))]}]
    song = song_from_parts(tmp_path, parts)
    beats = notes_to_roll(song, song.notes, steps_per_quarter=1)
    assert np.flatnonzero(beats[:, 62 - 21]).tolist() == [2]
    seconds = notes_to_roll(song, song.notes, steps_per_quarter=None, dt=0.5)
    # the second quarter lasts 1 s: the note at tick 960 starts at 0.5 + 1.0 = 1.5 s = step 3
    assert np.flatnonzero(seconds[:, 62 - 21]).tolist() == [3, 4]


def test_overlapping_notes_merge_and_sustain_lengthens(tmp_path):
    pedal = [(0, mido.Message("control_change", control=64, value=127)),
             (1440, mido.Message("control_change", control=64, value=0))]
    song = song_from_parts(tmp_path, [{"name": "Piano", "notes": [(0, 240, 60), (120, 480, 60), (960, 120, 64),
                                                                  (1200, 120, 64)], "extra": pedal}])
    dry = notes_to_roll(song, song.notes, sustain=False)
    wet = notes_to_roll(song, song.notes, sustain=True)
    assert np.flatnonzero(dry[:, 60 - 21]).tolist() == [0, 1]  # both end at the first note-off (tick 240)
    assert np.flatnonzero(wet[:, 60 - 21]).tolist() == list(range(12))  # held to the pedal release at step 12
    # a re-struck pitch is not held past its next onset: steps 8-9 then 10-11
    assert np.flatnonzero(wet[:, 64 - 21]).tolist() == [8, 9, 10, 11]


@pytest.mark.parametrize("held_beats, applied", [(64, True), (65, False)])
def test_a_pedal_held_past_the_limit_is_a_stuck_controller(tmp_path, held_beats, applied):
    # two presses: one of held_beats (one note inside it), then a short one that always applies
    pedal = [(0, mido.Message("control_change", control=64, value=100)),
             (480 * held_beats, mido.Message("control_change", control=64, value=0)),
             (480 * (held_beats + 2), mido.Message("control_change", control=64, value=127)),
             (480 * (held_beats + 4), mido.Message("control_change", control=64, value=10))]
    notes = [(480, 120, 60), (480 * (held_beats + 2), 120, 64)]
    song = song_from_parts(tmp_path, [{"name": "Piano", "notes": notes, "extra": pedal}])
    grid, counts = notes_to_grid(song, song.notes, steps_per_quarter=1)
    ends = dict(zip(grid.pitch.tolist(), grid.end.tolist()))
    assert ends[60] == (held_beats if applied else 2) and ends[64] == held_beats + 4
    assert counts["stuck_pedal_presses"] == (0 if applied else 1)


def test_pop909s_stuck_pedal_no_longer_washes_a_song_out():
    """038.mid's piano track holds its pedal from beat 0.5 to 287 (values 63-88, almost never below 64)."""
    from pianorbm.rolls.music_stats import piece_features

    path = POP909 / "038" / "038.mid"
    if not path.exists():
        pytest.skip(f"{path} is missing (../shared/data holds POP909)")
    song = parse_song(path.read_bytes())[0]
    grid, counts = notes_to_grid(song, song.notes)
    voices = piece_features(cells_to_roll(active_cells(grid), grid.num_steps), 0.125)["voices_mean"]
    assert counts["stuck_pedal_presses"] >= 2 and voices < 6  # it was 31 keys at once with the pedal applied
    dry, _ = notes_to_grid(song, song.notes, sustain=False)
    assert (grid.end - grid.start).sum() < 1.5 * (dry.end - dry.start).sum()


def test_out_of_range_pitches_are_dropped_or_folded_and_counted(tmp_path):
    song = song_from_parts(tmp_path, [{"name": "Piano", "notes": [(0, 480, 12), (0, 480, 115), (0, 480, 60)]}])
    dropped, counts = notes_to_grid(song, song.notes, out_of_range="drop")
    assert sorted(dropped.pitch.tolist()) == [60] and counts["dropped_out_of_range"] == 2
    folded, counts = notes_to_grid(song, song.notes, out_of_range="fold")
    assert sorted(folded.pitch.tolist()) == [24, 60, 103] and counts["folded_out_of_range"] == 2


@pytest.mark.parametrize("reattack", [False, True])
def test_roll_midi_roll_is_the_identity(reattack):
    rng = np.random.default_rng(1)
    roll = rng.random((64, KEYS)) < 0.08
    roll[-1, 0] = True
    buffer = io.BytesIO()
    roll_to_midi(roll, steps_per_quarter=4, qpm=90, reattack=reattack).save(file=buffer)
    song, _ = parse_song(buffer.getvalue())
    assert np.array_equal(notes_to_roll(song, song.notes, steps_per_quarter=4), roll)
    # and the file reads the same through mido
    midi = mido.MidiFile(file=io.BytesIO(buffer.getvalue()))
    assert sum(m.type == "note_on" and m.velocity > 0 for m in midi.tracks[0]) == \
        (roll.sum() if reattack else int((np.diff(np.vstack([np.zeros(KEYS), roll]).astype(int), axis=0) == 1).sum()))


def test_sparse_cells_round_trip():
    rng = np.random.default_rng(2)
    roll = rng.random((30, KEYS)) < 0.1
    assert np.array_equal(cells_to_roll(roll_to_cells(roll), 30), roll)


def test_active_cells_match_the_dense_roll(tmp_path):
    song = song_from_parts(tmp_path, [{"name": "Piano", "notes": [(0, 960, 60), (480, 120, 61), (480, 960, 60)]}])
    grid, _ = notes_to_grid(song, song.notes)
    assert np.array_equal(cells_to_roll(active_cells(grid), grid.num_steps), notes_to_roll(song, song.notes))


def test_key_estimate_and_normalising_shift():
    c_major = np.array([60, 62, 64, 65, 67, 69, 71, 72, 60, 64, 67])
    key = estimate_key(c_major, np.ones(len(c_major)))
    assert (key.name, key.shift_to_c_major_or_a_minor()) == ("C major", 0)
    e_flat = estimate_key(c_major + 3, np.ones(len(c_major)))
    assert (e_flat.name, e_flat.shift_to_c_major_or_a_minor()) == ("Eb major", -3)
    a_minor = np.array([57, 59, 60, 62, 64, 65, 68, 69, 57, 60, 64, 57, 64])
    assert estimate_key(a_minor + 5, np.ones(len(a_minor))).name == "D minor"
    assert estimate_key(a_minor + 5, np.ones(len(a_minor))).shift_to_c_major_or_a_minor() == -5
