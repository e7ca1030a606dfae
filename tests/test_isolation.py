from pianorbm.common.isolation import Failure, IsolatedPool
from tests.pool_tasks import dispatch


def test_crashes_hangs_and_memory_blowups_fail_alone():
    tasks = [("ok", 1), ("crash", None), ("ok", 2), ("hang", 60), ("ok", 3), ("alloc", 4096), ("raise", "bad"),
             ("ok", 4), ("alloc", 1)]
    pool = IsolatedPool(dispatch, jobs=2, timeout_s=2.0, memory_mb=512)
    results = {args: outcome for _, args, outcome in pool.map(tasks)}
    assert len(results) == len(tasks)
    assert [results[("ok", i)] for i in range(1, 5)] == [2, 4, 6, 8]
    assert results[("alloc", 1)] == 2**20
    assert isinstance(results[("crash", None)], Failure) and results[("crash", None)].kind == "crash"
    assert "SIGSEGV" in results[("crash", None)].detail
    assert results[("hang", 60)].kind == "timeout"
    assert results[("alloc", 4096)].kind == "memory"
    assert results[("raise", "bad")] == Failure("error", "ValueError: bad")


def test_back_to_back_crashes_lose_no_task():
    tasks = [("crash", i) if i % 2 else ("ok", i) for i in range(24)]
    pool = IsolatedPool(dispatch, jobs=2, timeout_s=10.0)
    results = {args: outcome for _, args, outcome in pool.map(tasks)}
    assert len(results) == 24
    assert all(results[("ok", i)] == 2 * i for i in range(0, 24, 2))
    assert all(results[("crash", i)].kind == "crash" for i in range(1, 24, 2))


def test_nothing_to_do_starts_no_worker():
    # from a script read on stdin a worker cannot start (it has no file to import), so an empty map
    # that started one would fail: a rerun whose work is all done must not need workers
    import subprocess
    import sys

    script = ("from pianorbm.common.isolation import IsolatedPool\n"
              "from tests.pool_tasks import dispatch\n"
              "print(list(IsolatedPool(dispatch, jobs=2, timeout_s=10.0).map([])))\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
