"""Progress for a terminal (a tqdm bar) or for a log (plain lines).

A bar redraws itself with carriage returns, which a file, a pipe or a cluster's log keeps as one
endless line; without a terminal, progress is instead one line every 10 % of the work or every
30 seconds, whichever comes first, and one at the end.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

LINE_EVERY_FRACTION = 0.1
LINE_EVERY_SECONDS = 30.0


class LineProgress:
    """tqdm's ``update``/``close`` as plain lines: ``curate: 192/1920 files (10%), 48 files/s, 4 s``."""

    def __init__(self, total: int, description: str, unit: str, stream: TextIO,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.description, self.unit, self.stream, self.clock = total, description, unit, stream, clock
        self.done = 0
        self.started = self.last_time = clock()
        self.last_done = 0
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        step = max(1, int(self.total * LINE_EVERY_FRACTION + 0.999999)) if self.total else None
        due_by_work = step is not None and self.done // step > self.last_done // step
        if (due_by_work or now - self.last_time >= LINE_EVERY_SECONDS) and self.done != self.total:
            self._line(now)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._line(self.clock())

    def _line(self, now: float) -> None:
        elapsed = now - self.started
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        rate = f", {self.done / elapsed:.1f} {self.unit}s/s" if elapsed > 0 else ""
        total = f"/{self.total}" if self.total else ""
        print(f"{self.description}: {self.done}{total} {self.unit}s{share}{rate}, {elapsed:.0f} s",
              file=self.stream, flush=True)
        self.last_time, self.last_done = now, self.done


def progress_factory(description: str, unit: str = "file", stream: TextIO | None = None):
    """``make(total, stage=description)`` giving a tqdm bar on a terminal, plain lines otherwise."""
    def make(total: int, stage: str = description):
        out = stream if stream is not None else sys.stderr
        if out.isatty():
            from tqdm import tqdm

            return tqdm(total=total, desc=stage, unit=unit, dynamic_ncols=True, file=out)
        return LineProgress(total, stage, unit, out)

    return make
