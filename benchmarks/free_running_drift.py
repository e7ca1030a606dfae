"""Does a model stay like its data when it follows its own samples? Run by hand:

    python benchmarks/free_running_drift.py NAME=RUN [NAME=RUN ...] [--pieces 6] [--out docs/free-running-drift.md]

For each run (a run folder, scored with its best weights on its own records' test split):

- *given the true past* (teacher forcing): on the first ``--pieces`` test pieces by name, each
  frame's key probabilities under p(v_t | v_<t) (the tempered sampler, chains from the previous
  true frame) against the true frames: keys per frame, the share of sounding keys that go on
  sounding ("sustain": P(on | on before)) and of silent keys that start ("onset": P(on | off
  before)), each beside the data's, with 95 % intervals over pieces;
- *following its own samples* (what ``pianorbm sample`` does): 16 sequences of 512 steps from the
  learned initial state, keys per frame and the sustain and onset rates in blocks of 128 steps, with
  95 % intervals over the 16 sequences.

A model whose own samples grow denser block by block while it matches the data given the true
past drifts: small errors in its sustain and onset rates feed back through the conditioner.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_common import write_report  # noqa: E402

from pianorbm.model.bootstrap import bootstrap_interval, piece_sums  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEQUENCES, STEPS, BLOCK = 16, 512, 128


def _ratio(top: np.ndarray, bottom: np.ndarray) -> str:
    """sum(top) / sum(bottom) over units, with its 95 % bootstrap interval over them."""
    low, high = bootstrap_interval(top, bottom)
    return f"{top.sum() / bottom.sum():.3f} [{low:.3f}, {high:.3f}]"


def _rates(frames: np.ndarray, previous: np.ndarray, lengths) -> dict:
    """Per-unit sums for keys per frame, sustain and onset: {name: (top, bottom)}."""
    on, off = previous > 0.5, previous < 0.5
    sums = lambda x: piece_sums(x, lengths)  # noqa: E731
    return {"keys per frame": (sums(frames.sum(1)), sums(np.ones(len(frames)))),
            "sustain": (sums((frames * on).sum(1)), sums(on.sum(1).astype(float))),
            "onset": (sums((frames * off).sum(1)), sums(off.sum(1).astype(float)))}


def given_true_past(model, records: Path, pieces: int) -> tuple[dict, dict, int]:
    from pianorbm.model.accuracy import expected_accuracy
    from pianorbm.model.floors import previous_frames
    from pianorbm.model.likelihood import CHUNK, frames_and_biases

    frames, bv, bh, lengths, _ = frames_and_biases(model, records, "test", max_pieces=pieces)
    previous = previous_frames(frames, lengths)
    probability = np.concatenate([
        expected_accuracy(model.rbm.W, bv[s:s + CHUNK], bh[s:s + CHUNK], previous[s:s + CHUNK], frames[s:s + CHUNK],
                          chains=2, burn_in=200, samples=50, seed=s, replicas=8)["draw_frequency"]
        for s in range(0, len(frames), CHUNK)])
    return _rates(frames, previous, lengths), _rates(probability, previous, lengths), len(frames)


def own_samples(model) -> list[dict]:
    from pianorbm.model.generate import generate_rolls

    _, followed = generate_rolls(model, SEQUENCES, STEPS, seed=0, return_followed=True)
    followed = followed.numpy()
    blocks = []
    for start in range(0, STEPS, BLOCK):
        frames = followed[:, start + 1:start + BLOCK].reshape(-1, 88)
        previous = followed[:, start:start + BLOCK - 1].reshape(-1, 88)
        blocks.append(_rates(frames, previous, [BLOCK - 1] * SEQUENCES))
    return blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="NAME=RUN_DIR")
    parser.add_argument("--pieces", type=int, default=6)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "free-running-drift.md")
    args = parser.parse_args()
    from pianorbm.model.run_folder import load_run_model, read_state, records_of

    names = ("keys per frame", "sustain", "onset")
    given = ["| run | frames | " + " | ".join(f"{n}: data | model" for n in names) + " |",
             "|---|---:|" + "---|---|" * len(names)]
    following = ["| run | steps | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for item in args.runs:
        name, run = item.split("=", 1)
        run = Path(run)
        model = load_run_model(run, "best")
        state = read_state(run)
        label = f"{name} (epoch {state.get('best_epoch')})"
        data, modelled, frames = given_true_past(model, records_of(run), args.pieces)
        given.append(f"| {label} | {frames:,} | " + " | ".join(f"{_ratio(*data[n])} | {_ratio(*modelled[n])}"
                                                             for n in names) + " |")
        for i, block in enumerate(own_samples(model)):
            following.append(f"| {label} | {i * BLOCK + 1}-{(i + 1) * BLOCK} | "
                             + " | ".join(_ratio(*block[n]) for n in names) + " |")
        print(given[-1], *following[-4:], sep="\n", flush=True)
    lines = ["# Free-running drift: the model given the true past, and following its own samples", "",
             f"Measured by `python benchmarks/free_running_drift.py {' '.join(args.runs)}` on "
             f"{time.strftime('%Y-%m-%d')}. Intervals: 95 % bootstrap over test pieces (given the true past; the "
             f"first {args.pieces} test pieces by name) or over the {SEQUENCES} generated sequences (following its "
             "own samples; tempered sampler, seed 0). Sustain: P(key on | on in the frame before); onset: "
             "P(key on | off in the frame before).", "", "## Given the true past", "", *given, "",
             "## Following its own samples", "", *following]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
