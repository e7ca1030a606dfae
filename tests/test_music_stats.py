"""Music statistics of rolls, checked against values worked out by hand."""

import numpy as np
import pytest

from pianorbm.rolls.music_stats import compare, overlap, piece_features, set_statistics


def _roll(notes, frames=8):
    """notes: (start, end, MIDI pitch) with end exclusive."""
    roll = np.zeros((frames, 88), bool)
    for start, end, pitch in notes:
        roll[start:end, pitch - 21] = True
    return roll


def test_features_of_a_known_roll():
    # C4 held 4 frames, E4 frames 0-1, then F4 frames 2-3 (a semitone above E4, but not together),
    # B3 with C4 at frame 3 (a clash), silence for frames 4-7
    roll = _roll([(0, 4, 60), (0, 2, 64), (2, 4, 65), (3, 4, 59)])
    features = piece_features(roll, seconds_per_frame=0.5)
    assert features["notes_per_second"] == pytest.approx(4 / 4.0)  # 4 notes in 8 frames of 0.5 s
    assert features["voices_mean"] == pytest.approx((2 + 2 + 2 + 3) / 4)
    assert features["voices_max"] == 3
    assert features["clash_rate"] == pytest.approx(1 / 4)  # frame 3: B3-C4
    assert features["silent_rate"] == pytest.approx(4 / 8)
    assert features["pitch_span"] == 65 - 59 and (features["pitch_low"], features["pitch_high"]) == (59, 65)
    assert sorted(features["note_lengths"]) == [1, 2, 2, 4]
    assert features["inter_onsets"] == [2, 1]  # onsets at frames 0, 2, 3
    histogram = features["pitch_classes"]
    assert histogram[0] == 4 and histogram[4] == 2 and histogram[5] == 2 and histogram[11] == 1


def test_a_c_major_triad_fits_a_key_better_than_a_cluster():
    triad = piece_features(_roll([(0, 8, 60), (0, 8, 64), (0, 8, 67)]), 0.25)["key_fit"]
    cluster = piece_features(_roll([(0, 8, 60), (0, 8, 61), (0, 8, 62), (0, 8, 63), (0, 8, 66)]), 0.25)["key_fit"]
    assert triad > 0.7 > cluster


def test_overlap_and_comparison():
    assert overlap([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert overlap([0, 0, 0], [10, 10, 10]) == 0.0
    data = set_statistics([_roll([(0, 8, 60), (0, 8, 64), (0, 8, 67)])] * 3, 0.25)
    same = set_statistics([_roll([(0, 8, 60), (0, 8, 64), (0, 8, 67)])] * 2, 0.25, data["usual_max_voices"])
    assert data["usual_max_voices"] == 3 and same["voices_above_usual"] == 0.0
    comparison = compare(same, data)
    assert comparison["pitch_class_distance"] == 0.0 and comparison["overlap"]["voices_mean"] == 1.0
    assert comparison["data_range"]["voices_mean"] == [3.0, 3.0] and comparison["within_data_range"]["voices_mean"] == 1
    crowded = set_statistics([_roll([(0, 8, p) for p in range(60, 66)])], 0.25, data["usual_max_voices"])
    assert crowded["voices_above_usual"] == 1.0 and compare(crowded, data)["pitch_class_distance"] > 0.5
    assert compare(crowded, data)["within_data_range"]["voices_mean"] == 0.0  # six voices where the data has three


def test_the_data_range_is_the_middle_ninety_percent_of_pieces():
    data = set_statistics([_roll([(0, 8, 60 + 2 * i) for i in range(voices)]) for voices in range(1, 21)], 0.25)
    low, high = compare(data, data)["data_range"]["voices_mean"]
    assert low == pytest.approx(1.95) and high == pytest.approx(19.05)
    samples = set_statistics([_roll([(0, 8, 60 + 2 * i) for i in range(voices)]) for voices in (1, 5, 15, 20)], 0.25)
    assert compare(samples, data)["within_data_range"]["voices_mean"] == 0.5  # 1 and 20 voices fall outside
