"""Training and sampling on an NVIDIA GPU: do they run there unchanged, and how fast, at paper sizes?

Run by ``benchmarks/gpu_check.sh`` (one command, under 8 minutes), in an environment with
``pip install '.[gpu]'``. In one run it measures, per cell (rnn, gru, lstm), RBM hidden 150,
recurrent 100, CD-15 (training) and k=25 (sampling):
- where the model's variables and the training step's output live, and whether Keras picks cuDNN
  for the conditioner;
- training frames/s on the GPU at batch 64 and 512 (windows of 100 frames), and on the CPU at batch
  64 in the same run (the baseline: the ratio is the figure, not the absolute);
- sampling frames/s (256 frames, 1 and 64 outputs) on the GPU and the CPU;
- with ``--records DIR``: ``pianorbm train`` (1 epoch) and ``pianorbm sample`` unchanged on it.
Writes docs/gpu.md. Without a GPU it says so and exits with status 2, writing nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

CELLS = ("rnn", "gru", "lstm")
SEQ_LEN, DENSITY, SAMPLE_FRAMES = 100, 0.05, 256


def _train_rate(device: str, cell: str, batch: int, seconds: float) -> tuple[float, dict]:
    import keras
    import tensorflow as tf

    from pianorbm.model.rnn_rbm import RnnRbm

    with tf.device(device):
        keras.utils.set_random_seed(0)
        model = RnnRbm(hidden=150, recurrent=100, cell=cell, k=15)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        batches = [tf.cast(tf.random.uniform((batch, SEQ_LEN, 88)) < DENSITY, tf.float32) for _ in range(2)]
        step = tf.function(model.train_step)
        metrics = step(batches[0])  # compiles
        float(metrics["cost"])
        steps, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds or steps < 3:
            metrics = step(batches[steps % 2])
            steps += 1
        float(metrics["cost"])
        rate = steps * batch * SEQ_LEN / (time.perf_counter() - started)
    placement = {"variables": model.rbm.W.value.device, "output": metrics["cost"].device,
                 "cudnn": cell != "rnn" and model.conditioner.recurrent.supports_jit is False}
    return rate, placement


def _sample_rate(device: str, cell: str, outputs: int) -> float:
    import tensorflow as tf

    from pianorbm.model.generate import generate_rolls
    from pianorbm.model.rnn_rbm import RnnRbm

    with tf.device(device):
        model = RnnRbm(hidden=150, recurrent=100, cell=cell)
        generate_rolls(model, outputs, SAMPLE_FRAMES, k=25).numpy()  # compiles
        started = time.perf_counter()
        generate_rolls(model, outputs, SAMPLE_FRAMES, k=25, seed=1).numpy()
        return outputs * SAMPLE_FRAMES / (time.perf_counter() - started)


def _cli_check(records: Path) -> list[str]:
    """pianorbm train and sample, unchanged, on the GPU machine: the commands' exit status and time."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="pianorbm-gpu-") as work:
        for name, command in (
                ("train (1 epoch, gru)", ["train", "-q", str(records), f"{work}/run", "--epochs", "1",
                                          "--validation-nll-every", "0", "--image-every", "0"]),
                ("sample (8 x 256 frames)", ["sample", "-q", f"{work}/run", f"{work}/samples", "--audio", "none"])):
            started = time.perf_counter()
            result = subprocess.run([sys.executable, str(REPO / "cli.py"), *command], capture_output=True, text=True)
            status = "ran" if result.returncode == 0 else f"FAILED (exit {result.returncode}): " \
                + (result.stderr.strip().splitlines() or ["no message"])[0]
            lines.append(f"| `pianorbm {name}` | {status} | {time.perf_counter() - started:.0f} s |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Measuring time per figure (after compiling).")
    parser.add_argument("--records", type=Path, default=None, help="A records folder for the CLI check.")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "gpu.md")
    parser.add_argument("--cells", default=",".join(CELLS), help="Cells to measure, comma-separated.")
    parser.add_argument("--rehearse", action="store_true",
                        help="Run every step on the CPU in place of the GPU (tests the script where no GPU is).")
    args = parser.parse_args()

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not args.rehearse:
        print("no GPU visible to TensorFlow (is the [gpu] extra installed, with NVIDIA's driver?); nothing measured")
        sys.exit(2)
    accelerator = "/CPU:0" if args.rehearse else "/GPU:0"
    gpu_name = "REHEARSAL on the CPU, not a GPU" if args.rehearse else \
        tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    started = time.perf_counter()

    rows, samples = [], []
    for cell in args.cells.split(","):
        gpu64, placement = _train_rate(accelerator, cell, 64, args.seconds)
        gpu512, _ = _train_rate(accelerator, cell, 512, args.seconds)
        cpu64, _ = _train_rate("/CPU:0", cell, 64, args.seconds / 2)
        rows.append((cell, placement, gpu64, gpu512, cpu64))
        print(f"{cell}: train {gpu64:,.0f} / {gpu512:,.0f} frames/s on the GPU, {cpu64:,.0f} on the CPU; {placement}",
              flush=True)
        for outputs in (1, 64):
            samples.append((cell, outputs, _sample_rate(accelerator, cell, outputs), _sample_rate("/CPU:0", cell, outputs)))
    cli = _cli_check(args.records) if args.records else []

    lines = [
        "# GPU check",
        "",
        f"Measured by `benchmarks/gpu_check.sh` on {time.strftime('%Y-%m-%d')}: {gpu_name} "
        f"({len(gpus)} visible), {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, {platform.machine()}; "
        f"the whole check took {time.perf_counter() - started:.0f} s. Paper sizes: RBM hidden 150, recurrent 100; "
        f"training CD-15 on random windows of {SEQ_LEN} frames ({DENSITY:.0%} of keys on); sampling k=25, "
        f"{SAMPLE_FRAMES} frames. The CPU figures are this machine's CPU in the same run (the baseline).",
        "",
        "## Training",
        "",
        "| cell | variables on | step output on | cuDNN (Keras's choice) | GPU b64 frames/s | GPU b512 frames/s "
        "| CPU b64 frames/s | GPU/CPU at b64 |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for cell, placement, gpu64, gpu512, cpu64 in rows:
        cudnn = "yes" if placement["cudnn"] else ("no (Keras has none for SimpleRNN)" if cell == "rnn" else "NO")
        lines.append(f"| {cell} | {placement['variables']} | {placement['output']} | {cudnn} | {gpu64:,.0f} | "
                     f"{gpu512:,.0f} | {cpu64:,.0f} | {gpu64 / cpu64:.1f}x |")
    lines += ["", "## Sampling", "", "| cell | outputs | GPU frames/s | CPU frames/s | GPU/CPU |", "|---|---:|---:|---:|---:|"]
    for cell, outputs, gpu, cpu in samples:
        lines.append(f"| {cell} | {outputs} | {gpu:,.0f} | {cpu:,.0f} | {gpu / cpu:.1f}x |")
    if cli:
        lines += ["", "## The commands, unchanged", "", "| command | result | time |", "|---|---|---:|", *cli]
    from benchmarks_common import write_report

    write_report(lines, args.out)


if __name__ == "__main__":
    main()
