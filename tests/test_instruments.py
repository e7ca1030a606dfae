import pytest

from pianorbm.curate.instruments import decide_part, name_says


@pytest.mark.parametrize("channel, program, explicit, name, expected", [
    (9, 0, False, "Piano", (False, "drum_channel")),
    (0, 4, True, "Strings", (True, "program")),
    (0, 40, True, "Piano", (False, "program")),
    (0, 0, True, "Violin I", (False, "name")),
    (0, 0, False, "Soprano", (False, "name")),
    (0, 0, True, "Klavier rechte Hand", (True, "name")),
    (0, 0, True, "Gesang", (False, "name")),
    (0, 0, True, "", (True, "explicit_program_0")),
    (0, 0, False, "Track 1", (True, "default_program")),
])
def test_part_decisions(channel, program, explicit, name, expected):
    assert decide_part(channel, program, explicit, name) == expected


@pytest.mark.parametrize("name, said", [
    ("Piano (hi)", "piano"), ("Pno.", "piano"), ("Left Hand", "piano"), ("R.H.", "piano"),
    ("Violoncello", "other"), ("Bass", "other"), ("Alto", "other"), ("melody", None), ("Untitled", None),
])
def test_track_names(name, said):
    assert name_says(name) == said
