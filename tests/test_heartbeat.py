"""common.heartbeat: a long quiet step says it is alive; a short one says nothing."""

import time

from pianorbm.common.heartbeat import heartbeat


def test_a_long_step_beats_and_a_short_one_is_silent():
    lines = []
    with heartbeat(lines.append, "compiling", first_s=0.05):
        time.sleep(0.28)
    assert 3 <= len(lines) <= 6 and all(line.startswith("compiling: ") and line.endswith(" s so far") for line in lines)
    quiet = []
    with heartbeat(quiet.append, "quick", first_s=5):
        pass
    assert quiet == []
    count = len(lines)
    time.sleep(0.12)
    assert len(lines) == count  # stopped with its block
