"""The polyphonic benchmarks of Boulanger-Lewandowski et al. (2012), imported safely.

The original distribution is a pickle: a dict with keys ``train``, ``valid``, ``test``; each a list
of sequences; each sequence a list of time steps; each step the MIDI pitches (21-108) sounding.
Unpickling can run arbitrary code, so :class:`SafeUnpickler` admits only plain containers and
numbers, plus numpy scalars (some copies hold ``numpy.int64`` pitches); any other global is refused
before it is imported.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import numpy as np

from pianorbm.rolls.pianoroll import HIGHEST_PITCH, KEYS, LOWEST_PITCH

# JSB Chorales has one step per quarter note, the others one per eighth note.
KNOWN_STEPS_PER_QUARTER = {"jsb": 1, "nottingham": 2, "musedata": 2, "piano-midi": 2, "piano_midi": 2}

_ALLOWED_GLOBALS = {
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol 2 pickles store a numpy scalar's bytes
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for something other than plain data."""


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise UnsafePickleError(f"refused to load {module}.{name}: this pickle holds more than plain "
                                    "containers and numbers (it could run code when loaded)")
        return super().find_class(module, name)


def load_benchmark_pickle(path: Path) -> dict[str, list[list[list[int]]]]:
    """Loads and checks a benchmark pickle; returns {split: [sequence: [step: [pitches]]]}."""
    data = Path(path).read_bytes()
    try:
        loaded = SafeUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except Exception as err:
        raise ValueError(f"{path} is not a readable pickle: {err}") from err
    if not isinstance(loaded, dict) or not {"train", "valid", "test"} <= set(loaded):
        raise ValueError(f"{path} is not a piano-roll benchmark: expected a dict with train, valid and test")
    return {split: loaded[split] for split in ("train", "valid", "test")}


def sequence_to_cells(sequence) -> tuple[np.ndarray, int, int]:
    """(flat active-cell indices, number of frames, pitches dropped as out of range) of one sequence."""
    steps, pitches = [], []
    for step, frame in enumerate(sequence):
        for pitch in frame:
            steps.append(step)
            pitches.append(int(pitch))
    steps_a, pitches_a = np.array(steps, dtype=np.int64), np.array(pitches, dtype=np.int64)
    inside = (pitches_a >= LOWEST_PITCH) & (pitches_a <= HIGHEST_PITCH)
    cells = np.unique(steps_a[inside] * KEYS + pitches_a[inside] - LOWEST_PITCH)
    return cells, len(sequence), int((~inside).sum())


def guess_steps_per_quarter(path: Path) -> int | None:
    name = Path(path).name.lower().replace(" ", "")
    for prefix, steps in KNOWN_STEPS_PER_QUARTER.items():
        if name.startswith(prefix):
            return steps
    return None


def content_digest(data: dict) -> str:
    """SHA-256 of a benchmark's music in a canonical encoding (each split's sequences, each sequence's
    steps, each step's sorted integer pitches): the same for every copy that holds the same music,
    whatever its pickle protocol or number types."""
    digest = hashlib.sha256()
    for split in ("train", "valid", "test"):
        digest.update(f"{split} {len(data[split])}\n".encode())
        for sequence in data[split]:
            digest.update(f"{len(sequence)}\n".encode())
            for step in sequence:
                digest.update((",".join(str(int(pitch)) for pitch in sorted(step)) + "\n").encode())
    return digest.hexdigest()
