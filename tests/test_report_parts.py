"""The report's small parts: piano-roll pictures, chart titles, counted nouns."""

import re

import numpy as np

from pianorbm.pipelines.report import counted
from pianorbm.pipelines.svg_charts import HEIGHT, TITLE_CHARS, line_chart
from pianorbm.rolls.roll_figure import note_bars, roll_figure_png


def test_a_held_note_is_one_bar_and_a_repeated_one_two():
    roll = np.zeros((16, 88), bool)
    roll[0:8, 39] = True  # C4 held for eight frames
    roll[2:4, 43] = True
    roll[5:7, 43] = True  # E4 struck twice
    roll[15, 87] = True  # the top key, in the last frame
    assert sorted(note_bars(roll)) == [(39, 0, 8), (43, 2, 2), (43, 5, 2), (87, 15, 1)]
    assert note_bars(np.zeros((4, 88), bool)) == []
    png = roll_figure_png(roll, steps_per_quarter=1, title="one bar per note")
    assert png.startswith(b"\x89PNG")


def test_a_long_chart_title_wraps_inside_the_chart():
    title = ("Validation NLL per frame (reverse AIS, 2 chains x 16,000 temperatures, on 500 frames spread evenly "
             "over the split)")
    svg = line_chart([1, 2, 3], {"validation": [3.0, 2.5, 2.4]}, title, "epoch", "nats per frame")
    lines = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert len(lines) == 2 and " ".join(lines) == title and all(len(line) <= TITLE_CHARS for line in lines)
    height = int(re.search(r'height="(\d+)"', svg).group(1))
    assert height > HEIGHT  # the plot moved down, not under the title
    short = line_chart([1, 2], {"a": [1.0, 2.0]}, "Monitor", "epoch", "nats")
    assert int(re.search(r'height="(\d+)"', short).group(1)) == HEIGHT


def test_counts_agree_with_their_nouns():
    assert [counted(1, "piece"), counted(2, "piece"), counted(0, "silent frame"), counted(1204, "frame")] == \
        ["1 piece", "2 pieces", "0 silent frames", "1,204 frames"]
