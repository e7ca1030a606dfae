"""Measurements shared by the benchmarks."""

from __future__ import annotations

import time
from pathlib import Path

VISIBLE, HIDDEN, K = 88, 150, 15


def write_report(lines: list[str], path: Path) -> None:
    """Prints a benchmark's markdown report and writes it to ``path`` (under docs/)."""
    text = "\n".join(lines)
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def matmul_ceiling(frames: int, repeats: int = 5) -> float:
    """GFLOP/s of the chain's float32 products alone (no sampling) for ``frames`` rows at once: the best of
    XLA and graph mode."""
    import tensorflow as tf

    v = tf.random.uniform((frames, VISIBLE))
    w = tf.random.normal((VISIBLE, HIDDEN))

    def products(v):
        for _ in range(K):
            h = tf.matmul(v, w)
            v = tf.matmul(h, w, transpose_b=True)
        return v

    best = 0.0
    for compiled in (tf.function(products, jit_compile=True), tf.function(products)):
        compiled(v).numpy()
        for _ in range(repeats):
            started = time.perf_counter()
            compiled(v).numpy()
            best = max(best, K * 2 * 2 * frames * VISIBLE * HIDDEN / (time.perf_counter() - started) / 1e9)
    return best


def best_matmul_ceiling(least_rows: int) -> tuple[float, int]:
    """The machine's ceiling for the products a piece of work needs: the best rate over row counts from
    ``least_rows`` (the work's own batch) up to 8,192, since XLA may batch rows together however the work
    is written. Returns (GFLOP/s, the row count that reached it)."""
    rows = sorted({least_rows, *(r for r in (512, 2048, 8192) if r > least_rows)})
    return max((matmul_ceiling(r), r) for r in rows)
