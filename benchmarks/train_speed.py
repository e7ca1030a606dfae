"""Training speed of the RNN-RBM at paper sizes, against this machine's matmul ceiling. Run by hand:

    python benchmarks/train_speed.py [--steps 12] [--records DIR]

Reports training frames/s (sequence steps consumed per second) for each cell on random frames and
on real windows (Nottingham records built from ../shared/data when no --records is given), the
default recipe's real frames/s, the achieved FLOP rate, and, measured in the same run, the float32
rate of RBM-shaped products (the ceiling). Results go to docs/train-speed.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks_common import best_matmul_ceiling, write_report  # noqa: E402
from pianorbm.model.rnn_rbm import RnnRbm  # noqa: E402
from pianorbm.rolls.build_records import build_records  # noqa: E402
from pianorbm.rolls.records_config import RecordsConfig  # noqa: E402
from pianorbm.rolls.dataset import make_dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VISIBLE, HIDDEN, RECURRENT, K = 88, 150, 100, 15
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def flops_per_frame(cell: str) -> float:
    """Multiply-adds x 2 of one training frame: Gibbs chain, free-energy gradients, conditioner."""
    product = 2 * VISIBLE * HIDDEN
    gibbs = K * 2 * product
    free_energy = 2 * product + 2 * product  # forward on data and samples, and the weight gradient
    conditioner = 3 * GATES[cell] * 2 * (VISIBLE + RECURRENT) * RECURRENT  # forward + backward
    projections = 3 * 2 * RECURRENT * (VISIBLE + HIDDEN)
    return gibbs + free_energy + conditioner + projections


def training_rate(cell: str, batches, batch_size: int, seq_len: int, steps: int, sampler: str = "xorshift") -> float:
    keras.utils.set_random_seed(0)
    model = RnnRbm(hidden=HIDDEN, recurrent=RECURRENT, cell=cell, k=K, sampler=sampler)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    step = tf.function(model.train_step)
    for batch in batches[:2]:
        step(batch)
    started = time.perf_counter()
    for i in range(steps):
        metrics = step(batches[i % len(batches)])
    float(metrics["cost"])
    return steps * batch_size * seq_len / (time.perf_counter() - started)


def recipe_rate(cell: str, records: Path, passes: int = 1) -> tuple[float, float, int, int]:
    """Real (non-padding) frames/s of the default recipe's training: whole pieces batched by length,
    chunks with the state carried (model.train.PieceTrainer), the weight average updated after every
    batch as in training, after a first pass that compiles every shape. Returns (frames/s, share of
    computed frames that are real, batch size, chunk)."""
    from pianorbm.model.config import TrainConfig
    from pianorbm.model.train import PieceTrainer
    from pianorbm.model.weight_average import weight_average_for

    config = TrainConfig(cell=cell)
    keras.utils.set_random_seed(0)
    model = RnnRbm(hidden=config.hidden, recurrent=config.recurrent, cell=cell, k=config.k)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    trainer = PieceTrainer(model, records, config, has_valid=False)
    average = weight_average_for(model.trainable_variables, config.weight_average_frames)

    def train_epoch(epoch: int) -> int:
        """One epoch as `pianorbm train` runs it; returns the real frames trained."""
        frames = 0
        for metrics, real in trainer.train_epoch(epoch, 0):
            if average:
                average.update(real)
            frames += real
        float(metrics["cost"])
        return frames

    train_epoch(0)  # compiles every bucket's shapes
    computed, started = 0, time.perf_counter()
    frames = sum(train_epoch(epoch) for epoch in range(1, 1 + passes))
    seconds = time.perf_counter() - started
    for epoch in range(1, 1 + passes):
        for rows in trainer.train.epoch(config.seed, epoch):
            rolls, _ = trainer.train.dense(rows)
            computed += rolls.shape[0] * rolls.shape[1]
    return frames / seconds, frames / computed, config.batch_size, config.seq_len


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--records", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "train-speed.md")
    args = parser.parse_args()
    b, t = args.batch_size, args.seq_len

    records = args.records
    if records is None:
        pickle_path = REPO.parent / "shared/data/benchmarks/Nottingham.pickle"
        records = Path(tempfile.mkdtemp(prefix="pianorbm-train-bench-"))
        build_records(records, RecordsConfig(), pickle_path=pickle_path)
    real = [batch for batch, _ in zip(make_dataset(records, "train", seq_len=t, batch_size=b), range(8))]
    random = [tf.cast(tf.random.uniform((b, t, VISIBLE)) < 0.05, tf.float32) for _ in range(4)]
    ceiling, _ = best_matmul_ceiling(b * t)

    rows = []
    for cell in ("rnn", "gru", "lstm"):
        for label, batches in (("random", random), ("real", real)):
            rate = training_rate(cell, batches, b, t, args.steps)
            rows.append((cell, label, "xorshift", b, rate))
    rows.append(("gru", "real", "philox", b, training_rate("gru", real, b, t, args.steps, "philox")))
    big = [tf.concat([x, x], axis=0) for x in real]
    rows.append(("gru", "real", "xorshift", 2 * b, training_rate("gru", big, 2 * b, t, args.steps)))
    recipe = []
    for cell in ("rnn", "gru", "lstm"):
        rate, real_share, recipe_batch, chunk = recipe_rate(cell, records)
        same_batch = [tf.cast(tf.random.uniform((recipe_batch, chunk, VISIBLE)) < 0.05, tf.float32) for _ in range(4)]
        # as many frames as the --batch-size rows: a few small steps alone are timed too briefly to be stable
        synthetic = training_rate(cell, same_batch, recipe_batch, chunk, args.steps * b * t // (recipe_batch * chunk))
        recipe.append((cell, rate, real_share, recipe_batch, chunk, synthetic,
                       next(r[4] for r in rows if r[:4] == (cell, "random", "xorshift", b))))
    ceiling_frames = ceiling * 1e9 / flops_per_frame("gru")

    lines = [
        "# Training speed",
        "",
        f"Measured by `python benchmarks/train_speed.py` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores ({cpu_model()}), CPU only, TensorFlow {tf.__version__}. Paper sizes: RBM hidden {HIDDEN}, "
        f"recurrent {RECURRENT}, CD-{K}; windows of {t} frames; real data: Nottingham training windows.",
        "",
        f"Matmul ceiling, measured in the same run (the chain's float32 88x{HIDDEN} products alone, best of XLA "
        f"and graph mode): "
        f"**{ceiling:.0f} GFLOP/s**, about {ceiling_frames:,.0f} GRU training frames/s at "
        f"{flops_per_frame('gru') / 1e6:.2f} MFLOP per frame.",
        "",
        "| cell | data | sampler | batch | frames/s | GFLOP/s | share of ceiling |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for cell, label, sampler, batch, rate in rows:
        gflops = rate * flops_per_frame(cell) / 1e9
        lines.append(f"| {cell} | {label} | {sampler} | {batch} | {rate:,.0f} | {gflops:.1f} | {gflops / ceiling:.0%} |")
    gru = next(r[4] for r in rows if r[:4] == ("gru", "real", "xorshift", b))
    lines += [
        "",
        "## The default recipe",
        "",
        "`pianorbm train` with no option trains whole pieces batched by length, chunk by chunk with the state "
        "carried (see README). Its rate counts real frames only (padding excluded), after a first pass that "
        "compiles every bucket's shapes, over one epoch of Nottingham, with the weight average updated after "
        "every batch; beside it, synthetic windows at the same "
        f"batch and chunk, and at batch {b}, in the same run.",
        "",
        "| cell | batch x chunk | real frames/s | real share of computed frames | synthetic, same batch | "
        f"recipe / synthetic, same batch | synthetic, batch {b} | recipe / synthetic {b} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {cell} | {batch} x {chunk} | {rate:,.0f} | {share:.0%} | {same:,.0f} | {rate / same:.0%} | {wide:,.0f} "
          f"| {rate / wide:.0%} |" for cell, rate, share, batch, chunk, same, wide in recipe],
        "",
        "Goal (issue): the recipe's real frames/s at least 80 % of the synthetic rate in the same run. At the "
        "recipe's own batch and chunk (the cost of real data, buckets, carried state and the average): "
        + "; ".join(f"{cell} {rate / same:.0%} ({'met' if rate >= 0.8 * same else 'not met'})"
                    for cell, rate, _, _, _, same, _ in recipe)
        + f". Against batch {b}, the issue's reference: "
        + "; ".join(f"{cell} {rate / wide:.0%} ({'met' if rate >= 0.8 * wide else 'not met'})"
                    for cell, rate, _, _, _, _, wide in recipe)
        + f". The recipe's batch of {recipe[0][3]} pieces is most of the gap to batch {b}; larger batches were not "
        "compared for the validation NLL (docs/recipe.md).",
    ]
    lines += [
        "",
        f"Goal (issue): GRU at paper sizes at least 50 % of the matmul ceiling; the issue puts that at about "
        f"45,000 frames/s from a 128 GFLOP/s ceiling on a quiet machine. Measured here: {gru:,.0f} frames/s at "
        f"batch {b}, {gru * flops_per_frame('gru') / 1e9 / ceiling:.0%} of this run's {ceiling:.0f} GFLOP/s ceiling "
        f"(share goal {'met' if gru >= 0.5 * ceiling_frames else 'not met'}); the absolute 45,000 frames/s is "
        f"{'met' if gru >= 45000 else 'not met'} ({gru / 3700:.1f}x the tutorial's 3,700, goal 12x).",
        "The issue's reference for the Theano tutorial (rnnrbm.py, same sizes and k, single-threaded float64)",
        "is about 3,700 frames per CPU-second on this machine (not re-measured here: Theano is not installed).",
        "",
        "What the time goes to, and what was tried (figures from profiling runs on this machine):",
        "- Random bits: TensorFlow's Philox draws about 75 M uniforms/s here, and CD-15 needs 3,570 per",
        "  frame, a cap near 21,000 frames/s. XLA's stateless Philox on CPU is slower still (its uint32",
        "  draw made a compiled chain 8x slower). The default sampler seeds per-unit xorshift32 streams by",
        "  hashing indices (MurmurHash3's finaliser) and advances them inside the XLA-compiled chain: the",
        "  chain alone went from about 38,000 (graph, Philox) to about 80,000 frames/s.",
        "- The Gibbs chain is compiled with XLA (`jit_compile`); the rest of the step runs as a graph:",
        "  compiling the whole train step with XLA was slower for every cell (GRU 27,600 vs 28,400 frames/s).",
        "- The conditioner's recurrence (T sequential steps forward and backward, small products) costs",
        "  about as much as the chain for the GRU and LSTM; larger batches amortise it (second GRU row).",
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
