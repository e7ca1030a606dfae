"""A line now and then while a long step runs that prints nothing of its own (compiling, a long AIS
validation), so that a quiet minute never looks like a hang."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable

FIRST_S, LONGEST_S = 10.0, 60.0


@contextmanager
def heartbeat(log: Callable[[str], None], what: str, first_s: float = FIRST_S, longest_s: float = LONGEST_S):
    """Logs '<what>: N s so far' every ``first_s`` seconds for the first minute, then at doubling intervals
    up to one per ``longest_s``, until the block ends: a short step says nothing, a long one a line now
    and then (never a quarter of a minute without one at first)."""
    stop, started = threading.Event(), time.monotonic()

    def beat() -> None:
        interval = first_s
        while not stop.wait(interval):
            log(f"{what}: {time.monotonic() - started:.0f} s so far")
            if time.monotonic() - started >= 60:
                interval = min(2 * interval, longest_s)

    thread = threading.Thread(target=beat, name="pianorbm-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
