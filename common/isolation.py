"""A process pool that survives its tasks: crashes, hangs and memory blow-ups become results.

Each worker runs one task at a time (with one more queued behind it to hide the round trip). When a
worker dies, or its current task runs past the time limit, the pool kills it, reports that task as
a :class:`Failure`, puts the queued task back, and starts a fresh worker. Each worker's address
space is capped, so a file that makes a parser allocate without bound fails alone with
``MemoryError`` instead of taking the machine down.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator

PIPELINE_DEPTH = 2
STARTUP_TIMEOUT_S = 120.0
_READY = "ready"


@dataclass(frozen=True)
class Failure:
    """Why a task produced no result: ``timeout``, ``crash``, ``memory`` or ``error``."""

    kind: str
    detail: str


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _worker_main(conn: Connection, func: Callable, memory_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if memory_mb:
        limit = _address_space_bytes() + memory_mb * 2**20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    conn.send(_READY)
    while True:
        message = conn.recv()
        if message is None:
            return
        task_id, args = message
        try:
            outcome: Any = func(*args)
        except MemoryError:
            outcome = Failure("memory", f"ran out of its {memory_mb} MiB memory budget")
        except Exception as err:  # a bug or an unexpected library error: report, keep serving
            outcome = Failure("error", f"{type(err).__name__}: {err}")
        conn.send((task_id, outcome))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    queue: deque = field(default_factory=deque)  # (task_id, args), head is running
    head_started: float = 0.0


class IsolatedPool:
    """Maps ``func`` over argument tuples in ``jobs`` worker processes.

    ``func`` must be importable (workers are started by a fork server). Results come back in
    completion order as ``(task_id, args, result_or_Failure)``.
    """

    def __init__(self, func: Callable, jobs: int, timeout_s: float, memory_mb: int = 0):
        self.func, self.jobs, self.timeout_s, self.memory_mb = func, max(1, jobs), timeout_s, memory_mb
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self.context = multiprocessing.get_context(method)
        if method == "forkserver":
            self.context.set_forkserver_preload([func.__module__])

    def _spawn(self) -> _Worker:
        """Starts a worker and waits until it is ready; a worker that cannot start is an error."""
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(child, self.func, self.memory_mb), daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        try:
            ready = parent.poll(STARTUP_TIMEOUT_S) and parent.recv() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._stop(worker)
            raise RuntimeError(f"a worker process for {self.func.__module__}.{self.func.__name__} failed to start "
                               f"(exit status {process.exitcode}); run from a script file or the pianorbm command")
        return worker

    @staticmethod
    def _stop(worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def map(self, tasks: Iterable[tuple]) -> Iterator[tuple[int, tuple, Any]]:
        pending = deque(enumerate(tasks))
        if not pending:  # nothing to do: no worker is started
            return
        workers = [self._spawn() for _ in range(min(self.jobs, len(pending)))]
        try:
            while pending or any(w.queue for w in workers):
                now = time.monotonic()
                for index, worker in enumerate(workers):
                    if not worker.queue and not worker.process.is_alive():  # died idle: replace quietly
                        self._stop(worker)
                        workers[index] = worker = self._spawn()
                    while pending and len(worker.queue) < PIPELINE_DEPTH:
                        task = pending.popleft()
                        try:
                            worker.conn.send(task)
                        except OSError:  # it died on its current task; the wait below reports that
                            pending.appendleft(task)
                            break
                        if not worker.queue:
                            worker.head_started = now
                        worker.queue.append(task)
                busy = [w for w in workers if w.queue]
                deadline = min(w.head_started for w in busy) + self.timeout_s
                waitables = [w.conn for w in busy] + [w.process.sentinel for w in busy]
                ready = set(wait(waitables, timeout=max(0.0, deadline - time.monotonic())))
                for index, worker in enumerate(workers):
                    if not worker.queue:
                        continue
                    failure = None
                    if worker.conn in ready:
                        try:
                            task_id, outcome = worker.conn.recv()
                        except (EOFError, OSError):
                            failure = self._death(worker)
                        else:
                            head = worker.queue.popleft()
                            worker.head_started = time.monotonic()
                            yield task_id, head[1], outcome
                            continue
                    elif worker.process.sentinel in ready:
                        failure = self._death(worker)
                    elif time.monotonic() - worker.head_started > self.timeout_s:
                        failure = Failure("timeout", f"still running after {self.timeout_s:g} s")
                    if failure is not None:
                        head = worker.queue.popleft()
                        pending.extendleft(reversed(worker.queue))
                        self._stop(worker)
                        workers[index] = self._spawn()
                        yield head[0], head[1], failure
        finally:
            for worker in workers:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            deadline = time.monotonic() + 2
            for worker in workers:
                worker.process.join(max(0.0, deadline - time.monotonic()))
                self._stop(worker)

    @staticmethod
    def _death(worker: _Worker) -> Failure:
        worker.process.join(1)
        code = worker.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        return Failure("crash", f"worker process {how}")
