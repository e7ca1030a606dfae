"""Progress without a terminal: plain lines every 10 % or 30 s, never carriage returns."""

from __future__ import annotations

import io
import subprocess
import sys

from pianorbm.common.progress import LineProgress, progress_factory


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_tenth_of_the_work_and_at_the_end():
    out, clock = io.StringIO(), FakeClock()
    bar = LineProgress(1000, "curate", "file", out, clock)
    for _ in range(1000):
        clock.now += 0.01
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in out.getvalue()
    assert lines[0].startswith("curate: 100/1000 files (10%)") and lines[-1].startswith("curate: 1000/1000 files (100%)")


def test_a_line_every_30_seconds_when_the_work_is_slow():
    out, clock = io.StringIO(), FakeClock()
    bar = LineProgress(100, "evaluate", "frame", out, clock)
    for _ in range(5):
        clock.now += 14.0
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["evaluate: 3/100 frames (3%)"]
    assert lines[0].endswith("42 s")


def test_a_pipe_gets_lines_and_a_terminal_gets_a_bar():
    assert isinstance(progress_factory("x", stream=io.StringIO())(10), LineProgress)
    code = ("from pianorbm.common.progress import progress_factory\n"
            "bar = progress_factory('records')(40)\n"
            "[bar.update(1) for _ in range(40)]\nbar.close()\n")
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "\r" not in piped.stderr
    assert piped.stderr.splitlines()[0].startswith("records: 4/40 files (10%)")
    assert len(piped.stderr.splitlines()) == 10
