"""A run folder, or an exported model file: where a trained model and its data description live.

``train`` writes a run folder (see model.train for its files); ``sample`` and ``evaluate`` read
one, and ``export`` turns one into a single ``.keras`` file that carries the same description. This
module is what those stages share, so none of them imports another.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from pianorbm.common import storage
from pianorbm.common.files import write_text_atomic

RUN_FILES = ("model.json", "data.json", "train.json", "state.json", "history.csv", "best.weights.h5")
RUN_DIRS = ("checkpoints", "logs", "images")
MODEL_FILE_SUFFIX = ".keras"


class RunFolderError(Exception):
    """Not a usable run folder or model file; the message says why."""


def data_description(records_dir: Path, info: dict, run_dir: Path | None = None) -> dict:
    """What a model needs to know of the records it was trained on (written to ``data.json``); the
    records' path is relative to ``run_dir`` when given, so that the two folders move together."""
    source = dict(info["source"])
    if run_dir is not None and source.get("path") and not storage.is_url(records_dir):
        source["path"] = storage.relative(Path(records_dir) / source["path"], run_dir)  # from the run folder
    return {"records": storage.relative(records_dir, run_dir) if run_dir is not None else str(Path(records_dir).resolve()),
            "fingerprint": info["fingerprint"],
            "source": source, "steps_per_quarter": info["steps_per_quarter"], "dt": info["dt"],
            "lowest_pitch": info["lowest_pitch"], "keys": info["keys"],
            "frames": {split: s["frames"] for split, s in info["splits"].items()}}


def check_model_file_name(path: Path) -> None:
    """Keras saves and loads a single-file model only under the ``.keras`` suffix."""
    if Path(path).suffix != MODEL_FILE_SUFFIX:
        raise RunFolderError(f"{path}: the model file's name must end in {MODEL_FILE_SUFFIX} (Keras's format)")


def is_model_file(source: Path) -> bool:
    return Path(source).suffix == MODEL_FILE_SUFFIX


def check_source(source: Path) -> None:
    """Refuses, without importing TensorFlow, what is neither a run folder, a model file nor a
    pretrained model's name."""
    from pianorbm.model.pretrained import PretrainedError, is_pretrained, pretrained_path

    if is_pretrained(source):
        try:
            source = pretrained_path(str(source))
        except PretrainedError as err:
            raise RunFolderError(str(err)) from None
    source = Path(source)
    if is_model_file(source):
        if not source.is_file():
            raise RunFolderError(f"{source}: no such model file")
    elif not (source / "model.json").is_file():
        raise RunFolderError(f"{source} is not a pianorbm run (no model.json) nor a {MODEL_FILE_SUFFIX} model file")


def read_data(run_dir: Path) -> dict:
    """The ``data.json`` of a run folder."""
    path = Path(run_dir) / "data.json"
    if not path.is_file():
        raise RunFolderError(f"{run_dir} is not a pianorbm run (no data.json)")
    return json.loads(path.read_text())


def records_of(run_dir: Path) -> Path:
    """The records folder a run was trained on (``data.json``'s path, relative to the run folder)."""
    return Path(run_dir) / read_data(run_dir)["records"]


def read_state(run_dir: Path) -> dict:
    """A run's ``state.json`` ({} before its first epoch); the best validation figure under
    ``best_validation`` whatever version of pianorbm wrote it."""
    path = Path(run_dir) / "state.json"
    state = json.loads(path.read_text()) if path.exists() else {}
    if "best_monitor" in state:  # written before the figure was named for what it holds
        state["best_validation"] = state.pop("best_monitor")
    state.pop("history", None)  # written before history.csv was the only copy
    return state


def _number(text: str):
    if text == "":
        return ""
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def read_history(run_dir: Path) -> list[dict]:
    """A run's ``history.csv``, one dict per epoch with numbers as numbers ('' where not measured)."""
    path = Path(run_dir) / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{name: _number(value) for name, value in row.items()} for row in csv.DictReader(handle)]


def write_history(run_dir: Path, history: list[dict]) -> None:
    columns = list(dict.fromkeys(name for row in history for name in row))  # older rows lack newer columns
    rows = [",".join(columns)] + [",".join(str(row.get(c, "")) for c in columns) for row in history]
    write_text_atomic(Path(run_dir) / "history.csv", "\n".join(rows) + "\n")


def save_model_weights(model, path: Path) -> None:
    """The model's variables alone, in Keras's ``.weights.h5`` layout, written whole or not at all: the
    optimizer's moments, which only resuming needs (``checkpoints/`` keeps them), would triple the file."""
    import h5py

    path = Path(path)
    stem = path.name.removesuffix(".weights.h5")  # Keras writes only names ending so
    with_optimizer = path.with_name(f".{stem}-with-optimizer.weights.h5")
    weights_only = path.with_name(f".{stem}.weights.h5")
    model.save_weights(with_optimizer)
    with h5py.File(with_optimizer, "r") as source, h5py.File(weights_only, "w") as target:
        for key, value in source.attrs.items():
            target.attrs[key] = value
        for key in source:
            if key != "optimizer":
                source.copy(source[key], target, name=key)
    with_optimizer.unlink()
    os.replace(weights_only, path)


def load_run_model(run_dir: Path, weights: str = "best"):
    """The model of a run folder with its best (or ``latest``) weights."""
    from pianorbm.common.quiet import tf

    from pianorbm.model.rnn_rbm import RnnRbm

    run_dir = Path(run_dir)
    check_source(run_dir)
    model = RnnRbm.from_config(json.loads((run_dir / "model.json").read_text()))
    if weights == "best" and (run_dir / "best.weights.h5").exists():
        model.load_weights(run_dir / "best.weights.h5")
    else:
        latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
        if latest is None:
            raise RunFolderError(f"{run_dir} has no checkpoint yet")
        tf.train.Checkpoint(model=model).restore(latest).expect_partial()
    return model


def load_trained(source: Path, weights: str = "best"):
    """(model, data description) of a run folder, an exported ``.keras`` file or ``pretrained:NAME``."""
    from pianorbm.model.pretrained import is_pretrained, pretrained_path

    check_source(source)
    source = pretrained_path(str(source)) if is_pretrained(source) else Path(source)
    if is_model_file(source):
        from pianorbm.common.quiet import keras

        import pianorbm.model.rnn_rbm  # noqa: F401  (registers RnnRbm with Keras)

        try:
            trained = keras.saving.load_model(source)
        except (OSError, ValueError, KeyError) as err:
            raise RunFolderError(f"{source}: not a pianorbm model file ({err})") from None
        if not getattr(trained, "data_description", None):
            raise RunFolderError(f"{source} holds a Keras model without pianorbm's data description")
        return trained, trained.data_description
    return load_run_model(source, weights), read_data(source)


def wall_time_split(history: list[dict]) -> dict[str, float]:
    """Where a run's wall time went, summed over its epochs: compiling (the batches that traced the
    training step, each with its own batch of work), training (the rest of the epochs' batches) and
    validating (validation figures, keeping the best weights, logs and sample pictures)."""
    def total(name: str) -> float:
        return sum(row[name] for row in history if isinstance(row.get(name), (int, float)))

    compiling = total("compile_seconds")
    return {"compile": round(compiling, 1), "train": round(total("seconds") - compiling, 1),
            "validate": round(total("validate_seconds"), 1)}


def describe_wall_time(seconds: dict[str, float]) -> str:
    """'wall time 1 h 32 min: compiling 1 min (1 %), training 31 min (34 %), validating 60 min (65 %)'."""
    def length(value: float) -> str:
        minutes = value / 60
        if minutes < 1:
            return f"{value:.0f} s"
        return f"{int(minutes // 60)} h {minutes % 60:.0f} min" if minutes >= 60 else f"{minutes:.0f} min"

    whole = sum(seconds.values())
    parts = [f"{name} {length(value)} ({100 * value / whole:.0f} %)" if whole else f"{name} 0 s"
             for name, value in zip(("compiling", "training", "validating"),
                                    (seconds["compile"], seconds["train"], seconds["validate"]))]
    return f"wall time {length(whole)}: " + ", ".join(parts)
