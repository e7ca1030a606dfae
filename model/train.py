"""``pianorbm train``: fit an RNN-RBM to a records folder, resumably, into a run folder.

The run folder holds everything later stages need, so no training flag is ever repeated:
``model.json`` (the model's Keras config), ``data.json`` (the records it was trained on: path
relative to the run folder, fingerprint, grid), ``train.json`` (these settings), ``checkpoints/``
(the latest few, with the optimizer state, the step count and the data position),
``best.weights.h5`` (the best by the validation criterion), ``history.csv`` (one row per epoch, the
only copy of the history), ``logs/`` (TensorBoard scalars and piano-roll images of samples),
``images/`` (the same samples as PNG) and ``state.json`` (where training stands: epoch, step, the
best validation figure and its epoch, why it stopped). ``train.json`` also says where the wall time
went (``"seconds": {"compile", "train", "validate"}``), and so does the run's last line.

Kill it at any moment and run the same command again: it restores the latest checkpoint and goes
on from the same batch of the same epoch with the same random stream, so the result equals an
uninterrupted run. A finished run says so and does nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from pianorbm.common.files import write_bytes_atomic, write_json_atomic
from pianorbm.common.heartbeat import heartbeat
from pianorbm.model.config import TrainConfig, corpus_dropout
from pianorbm.model.run_folder import (RUN_DIRS, RUN_FILES, data_description, describe_wall_time, read_history,
                                       read_state, save_model_weights, wall_time_split, write_history)
from pianorbm.model.weight_average import weight_average_for
from pianorbm.rolls.roll_figure import roll_figure_png
from pianorbm.rolls.records import RecordsError, key_frequencies, load_info

# settings that may change between invocations of one run: they extend or observe it, not define it
EXTENDABLE = {"epochs", "patience", "checkpoint_every", "image_every", "distribute"}
# what runs trained before a setting existed did, so that resuming one is refused rather than changed
BEFORE_THEY_EXISTED = {"batching": "windows", "dropout": 0.0, "validation": "quick", "lr_halve_after": 0,
                       "weight_average_frames": 0, "validation_frames": None}


VALIDATION_PASS_FRAMES = 50_000  # the valid split's cost and monitor are logged from at most this many frames


class TrainingError(Exception):
    """Training cannot start or go on; the message says why and what to do."""


def train_frames(info: dict) -> int:
    """Frames of the train split, augmented copies included."""
    return info["splits"]["train"].get("example_frames") or info["splits"]["train"]["frames"]


def with_corpus_defaults(config: TrainConfig, info: dict) -> TrainConfig:
    """``config`` with the settings left to the corpus decided (dropout: model.config.corpus_dropout)."""
    if config.dropout is not None:
        return config
    return replace(config, dropout=corpus_dropout(train_frames(info)))


def validation_interval(config: TrainConfig, info: dict) -> int:
    """Epochs between validation NLLs: as set, or about one per ``train_frames_between`` training frames."""
    from pianorbm.model.likelihood import VALIDATION_NLL

    if config.validation_nll_every is not None:
        return config.validation_nll_every
    return max(1, round(VALIDATION_NLL[config.validation].train_frames_between / max(train_frames(info), 1)))


def _rounded(value):
    return round(value, 5) if _measured(value) else ""


def _measured(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def learning_rate_halvings(history: list[dict], criterion: str, after: int) -> int:
    """How often the learning rate has halved: once per ``after`` validations in a row without a better
    figure (0: never). A function of the history alone, so a resumed run goes on at the same rate."""
    if not after:
        return 0
    best, without, halvings = math.inf, 0, 0
    for row in history:
        if not _measured(row.get(criterion)):
            continue
        if row[criterion] < best:
            best, without = row[criterion], 0
        else:
            without += 1
            if without == after:
                halvings, without = halvings + 1, 0
    return halvings


def settings_differences(saved: dict, config: TrainConfig) -> dict[str, tuple]:
    """{setting: (as the run was trained, as ``config`` asks)} for the settings that make ``saved`` (a run's
    train.json) a different run from ``config``'s; a setting newer than the run counts as its old behaviour."""
    saved = {**BEFORE_THEY_EXISTED, **saved}
    return {k: (saved.get(k), v) for k, v in config.to_dict().items() if k not in EXTENDABLE and saved.get(k) != v}


def _differences(run_dir: Path, config: TrainConfig, data: dict) -> list[str]:
    saved = json.loads((run_dir / "train.json").read_text())
    saved_data = json.loads((run_dir / "data.json").read_text()) if (run_dir / "data.json").exists() else {}
    differences = [f"{k}: {was!r} -> {now!r}" for k, (was, now) in settings_differences(saved, config).items()]
    if saved_data.get("fingerprint") != data["fingerprint"]:
        differences.append(f"records: {saved_data.get('records')} -> {data['records']}")
    return differences


def run_differences(records_dir: Path, run_dir: Path, config: TrainConfig) -> list[str]:
    """What makes ``run_dir`` a different run from the one these records and settings ask for
    (empty when it holds none yet, or this one, perhaps with fewer epochs)."""
    run_dir = Path(run_dir)
    if not (run_dir / "train.json").exists():
        return []
    try:
        info = load_info(records_dir)
    except RecordsError as err:
        raise TrainingError(str(err)) from err
    return _differences(run_dir, with_corpus_defaults(config, info), data_description(records_dir, info))


def _check_run_dir(run_dir: Path, config: TrainConfig, data: dict, restart: bool) -> bool:
    """True when the run folder holds this run already (resume); refuses a different one."""
    if not (run_dir / "train.json").exists():
        if run_dir.exists() and any(run_dir.iterdir()) and not restart:
            raise TrainingError(f"{run_dir} is not empty and holds no pianorbm run; choose another folder "
                                "or pass --restart to clear it")
        return False
    differences = _differences(run_dir, config, data)
    if differences and not restart:
        raise TrainingError(f"{run_dir} holds a different run ({'; '.join(differences)}); "
                            "use another folder, or --restart to start over there")
    if restart:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        for name in RUN_DIRS:
            shutil.rmtree(run_dir / name, ignore_errors=True)
        return False
    return True


def build_model(config: TrainConfig):
    from pianorbm.model.rnn_rbm import RnnRbm

    return RnnRbm(hidden=config.hidden, recurrent=config.recurrent, cell=config.cell, k=config.k,
                  sampler=config.sampler, seed=config.seed, dropout=config.dropout,
                  conditioner_dtype="mixed_float16" if config.mixed_precision else None)


def make_optimizer(config: TrainConfig):
    from pianorbm.common.quiet import keras

    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=config.learning_rate)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=config.learning_rate)
    raise TrainingError(f"unknown optimizer {config.optimizer!r}; choose adam or sgd")


def pretrain_rbm(model, records_dir: Path, config: TrainConfig, log=print) -> list[float]:
    """CD-k on the RBM's weights and biases alone, over the training frames, before the whole model
    trains (Boulanger-Lewandowski et al. initialise the RNN-RBM's RBM this way). The conditioner's
    contribution to the biases starts near zero, so this is an ordinary RBM over single frames. It
    runs before the first checkpoint: an interrupted pretraining is redone, identically. Returns the
    monitor of each pretraining epoch."""
    from pianorbm.common.quiet import tf

    from pianorbm.rolls.dataset import make_dataset

    optimizer = make_optimizer(config)
    variables = model.rbm.trainable_variables
    first_counter = 1 << 40  # chain seeds apart from those of the training steps

    @tf.function
    def step(batch, counter):
        frames, lengths = model.unpack_batch(batch)
        with tf.GradientTape() as tape:
            cost, monitor = model.cd_cost(frames, counter, lengths=lengths)
        optimizer.apply(tape.gradient(cost, variables), variables)
        return monitor

    monitors, counter = [], first_counter
    for epoch in range(config.pretrain_epochs):
        total, batches = 0.0, 0
        for batch in make_dataset(records_dir, "train", seq_len=config.seq_len, batch_size=config.batch_size,
                                  seed=config.seed + 1, epoch=epoch, pad=config.pad_windows):
            total += float(step(batch, tf.constant(counter, tf.int64)))
            batches, counter = batches + 1, counter + 1
        monitors.append(total / max(batches, 1))
        log(f"pretrain epoch {epoch + 1}/{config.pretrain_epochs}: RBM monitor {monitors[-1]:.3f}")
    return monitors


class PieceTrainer:
    """Whole pieces batched by length, each batch trained chunk by chunk with the recurrent state
    carried across chunks (see rolls.piece_batches): training runs every piece from its start,
    as evaluation does."""

    def __init__(self, model, records_dir: Path, config: TrainConfig, has_valid: bool, strategy=None):
        from pianorbm.common.quiet import tf

        from pianorbm.model.distribute import ReplicaBatches
        from pianorbm.rolls.piece_batches import PieceBatches

        self.model, self.config, self.has_valid = model, config, has_valid
        self.replicas = ReplicaBatches(strategy, model) if strategy is not None else None
        self.train = PieceBatches(records_dir, "train", chunk=config.seq_len, batch_size=config.batch_size)
        self.valid = PieceBatches(records_dir, "valid", chunk=config.seq_len, batch_size=config.batch_size) \
            if has_valid else None
        self.train_chunk = tf.function(model.train_chunk)
        self.validation_chunk = tf.function(model.validation_chunk)

    def _run(self, step, pieces: "PieceBatches", rows):
        from pianorbm.common.quiet import tf

        rolls, lengths = pieces.dense(rows)
        carried = [tf.zeros([len(lengths), self.model.recurrent_units])] * self.model.conditioner.state_count
        first, metrics = True, None
        for frames, chunk_lengths in pieces.chunks(rolls, lengths):
            metrics, final = step(tf.constant(frames), tf.constant(chunk_lengths), carried, tf.constant(first))
            carried, first = [tf.cast(state, tf.float32) for state in final], False
        return metrics, int(lengths.sum())

    def traces(self) -> int:
        """How often the training step has been traced (each new shape compiles it once more)."""
        step = self.replicas.step if self.replicas is not None else self.train_chunk
        return step.experimental_get_tracing_count()

    def train_epoch(self, epoch: int, skip: int):
        for rows in self.train.epoch(self.config.seed, epoch)[skip:]:
            if self.replicas is None:
                yield self._run(self.train_chunk, self.train, rows)
            else:
                rolls, lengths = self.train.dense(rows)
                yield self.replicas.run(rolls, lengths, self.train.chunks), int(lengths.sum())

    def validation(self) -> dict:
        """Cost and monitor on the valid split's pieces in their fixed order, up to
        ``VALIDATION_PASS_FRAMES`` frames."""
        frames = 0
        for rows in self.valid.epoch(self.config.seed, 0, shuffle=False):
            frames += self._run(self.validation_chunk, self.valid, rows)[1]
            if frames >= VALIDATION_PASS_FRAMES:
                break
        return {m.name: float(m.result()) for m in self.model.metrics}


class WindowTrainer:
    """Windows of ``seq_len`` frames at random offsets, each from the learned initial state (the
    earlier recipe; see rolls.dataset)."""

    def __init__(self, model, records_dir: Path, config: TrainConfig, has_valid: bool):
        from pianorbm.common.quiet import tf

        self.model, self.records_dir, self.config, self.has_valid = model, records_dir, config, has_valid
        self.train_step = tf.function(model.train_step)
        self.validation_step = tf.function(model.test_step)

    def traces(self) -> int:
        return self.train_step.experimental_get_tracing_count()

    def train_epoch(self, epoch: int, skip: int):
        from pianorbm.common.quiet import tf

        from pianorbm.rolls.dataset import make_dataset

        config = self.config
        dataset = make_dataset(self.records_dir, "train", seq_len=config.seq_len, batch_size=config.batch_size,
                               seed=config.seed, epoch=epoch, pad=config.pad_windows)
        for batch in dataset.skip(skip):
            frames = int(tf.reduce_sum(batch[1])) if config.pad_windows else config.batch_size * config.seq_len
            yield self.train_step(batch), frames

    def validation(self) -> dict:
        from pianorbm.rolls.dataset import make_dataset

        config = self.config
        for batch in make_dataset(self.records_dir, "valid", seq_len=config.seq_len, batch_size=config.batch_size,
                                  shuffle=False, drop_remainder=False, pad=config.pad_windows):
            self.validation_step(batch)
        return {m.name: float(m.result()) for m in self.model.metrics}


def train(records_dir: Path, run_dir: Path, config: TrainConfig, *, restart: bool = False,
          log=print, max_batches: int | None = None) -> dict:
    """Trains (or resumes, or finds finished) the run in ``run_dir``; returns its state.

    ``max_batches`` stops after that many batches in this call (for tests and profiling).
    """
    records_dir, run_dir = Path(records_dir), Path(run_dir)
    try:
        info = load_info(records_dir)
    except RecordsError as err:
        raise TrainingError(str(err)) from err
    config = with_corpus_defaults(config, info)
    data = data_description(records_dir, info, run_dir)
    state = read_state(run_dir) if _check_run_dir(run_dir, config, data, restart) else {}
    if state.get("finished") and state.get("epochs") == config.epochs:
        log(f"{run_dir}: training finished ({state['finished']}) at epoch {state['epoch']}, best "
            f"{state.get('criterion', 'val_monitor')} {state.get('best_validation')}: nothing to do")
        return state

    longest = max((p["frames"] for p in info["pieces"] if p["split"] == "train"), default=0)
    if config.batching == "windows" and longest < config.seq_len and not config.pad_windows:
        raise TrainingError(f"the train split holds no piece of {config.seq_len} frames (the longest has {longest}); "
                            "use a shorter --seq-len")
    from pianorbm.model.distribute import DistributeError, is_chief, make_strategy

    try:
        strategy = make_strategy(config.distribute)
    except DistributeError as err:
        raise TrainingError(str(err)) from err
    run_dir.mkdir(parents=True, exist_ok=True)
    if not is_chief(strategy):  # another worker of a cluster: trains in step, writes to a copy that is thrown away
        with tempfile.TemporaryDirectory(prefix="pianorbm-worker-") as scratch:
            shutil.copytree(run_dir, Path(scratch) / "run", ignore=shutil.ignore_patterns("logs", "images"))
            return _train(records_dir, Path(scratch) / "run", config, info, data, state, strategy, log, max_batches,
                          shared_dir=run_dir)
    return _train(records_dir, run_dir, config, info, data, state, strategy, log, max_batches)


def check_same_start(strategy, step: int, run_dir: Path) -> None:
    """Every worker of a cluster must go on from the same checkpoint, which it can only do when the run
    folder is one folder they share. Each worker contributes its restored step; they agree when n times
    the sum of squares equals the square of the sum (equality in Cauchy-Schwarz), which every worker
    computes alike, so all refuse together rather than one waiting for the others."""
    from pianorbm.common.quiet import tf

    value = tf.constant([float(step), float(step) ** 2], tf.float64)
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(value)), axis=None).numpy()
    count = strategy.num_replicas_in_sync
    if abs(count * total[1] - total[0] ** 2) > 0.5:
        raise TrainingError(f"the workers would go on from different checkpoints (this one from step {step}, the "
                            f"cluster's mean {total[0] / count:g}): multi-worker training needs {run_dir} to be one "
                            "folder that every worker shares (the same path on a shared file system)")


class Progress:
    """The best validation figure so far, its epoch and the validations since: derived from the
    history, so that a resumed run, or a redone epoch, decides as an uninterrupted one would."""

    def __init__(self, criterion: str, history: list[dict]):
        self.criterion, self.best, self.best_epoch, self.stale = criterion, math.inf, 0, 0
        for row in history:
            self.record(row)

    def record(self, row: dict) -> bool:
        """Takes one epoch's row; True when its figure is the best so far."""
        if not _measured(row.get(self.criterion)):
            return False
        if row[self.criterion] < self.best:
            self.best, self.best_epoch, self.stale = row[self.criterion], row["epoch"], 0
            return True
        self.stale += 1
        return False


class Training:
    """One call of ``train`` on one run folder: the model, its optimizer and moving average, the
    checkpoints, the history and the batches, and the steps ``_train`` runs them through."""

    def __init__(self, records_dir: Path, run_dir: Path, config: TrainConfig, info: dict, strategy, log):
        from pianorbm.common.quiet import keras
        from pianorbm.common.quiet import tf

        self.records_dir, self.run_dir, self.config, self.info, self.log = records_dir, run_dir, config, info, log
        keras.utils.set_random_seed(config.seed)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            self.model = build_model(config)
            self.optimizer = make_optimizer(config)
            self.model.compile(optimizer=self.optimizer)
            self.optimizer.build(self.model.trainable_variables)
            self.average = weight_average_for(self.model.trainable_variables, config.weight_average_frames)
        averaged = {"average": self.average.checkpoint()} if self.average else {}
        self.epoch_var = tf.Variable(0, dtype=tf.int64, name="epoch")
        self.batch_var = tf.Variable(0, dtype=tf.int64, name="batch_in_epoch")
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, epoch=self.epoch_var,
                                              batch=self.batch_var, **averaged)
        # the epoch's running means, so that a run resumed mid-epoch logs the epoch's figures, not its tail's
        self.running = tf.train.Checkpoint(**{f"{metric.name}_{variable.name}": variable.value
                                              for metric in self.model.metrics for variable in metric.variables})
        saved = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, epoch=self.epoch_var,
                                    batch=self.batch_var, running=self.running, **averaged)
        self.manager = tf.train.CheckpointManager(saved, str(run_dir / "checkpoints"), max_to_keep=3)
        self.every = validation_interval(config, info)
        self.criterion = "val_nll" if self.every else "val_monitor"
        valid_frames = info["splits"].get("valid", {}).get("frames", 0)
        if config.batching == "pieces":
            self.batches = PieceTrainer(self.model, records_dir, config, valid_frames > 0, strategy)
        else:
            self.batches = WindowTrainer(self.model, records_dir, config, valid_frames >= config.seq_len
                                         or (config.pad_windows and valid_frames > 0))
        self.writer = tf.summary.create_file_writer(str(run_dir / "logs"))
        self.history: list[dict] = []
        self.progress = Progress(self.criterion, [])
        self.compile_seconds = 0.0  # of the epoch under way

    @property
    def epoch(self) -> int:
        return int(self.epoch_var)

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def restore_or_start(self, trained_epochs: int, data: dict) -> None:
        """Restores the latest checkpoint, or starts a new run (initial biases, pretraining, model.json
        and data.json); refuses to start over a trained run whose checkpoints are gone."""
        from pianorbm.common.quiet import tf

        latest = self.manager.latest_checkpoint
        if latest:  # checkpoints from before the running means restore too
            self.checkpoint.restore(latest).assert_existing_objects_matched().expect_partial()
            tf.train.Checkpoint(running=self.running).restore(latest).expect_partial()
            self.log(f"resuming from {latest}: epoch {self.epoch + 1}, batch {int(self.batch_var)}, step {self.step}")
            self.history = [row for row in read_history(self.run_dir) if row["epoch"] <= self.epoch]
        elif trained_epochs:  # starting over would overwrite a trained run's files
            raise TrainingError(f"{self.run_dir} was trained to epoch {trained_epochs} but holds no checkpoint to go "
                                "on from (checkpoints/ is missing or empty); its files are left as they are. Train in "
                                "a new folder, or pass --restart to start over in this one")
        else:
            if self.config.init_visible_bias:
                self.model.set_visible_bias_from_frequencies(key_frequencies(self.info, "train"))
            if self.config.pretrain_epochs:
                pretrain_rbm(self.model, self.records_dir, self.config, self.log)
            if self.average:
                self.average.reset()
            write_json_atomic(self.run_dir / "model.json", self.model.get_config())
            write_json_atomic(self.run_dir / "data.json", data)
        self.write_settings()
        self.progress = Progress(self.criterion, self.history)

    def write_settings(self) -> None:
        """train.json: the settings, and where the wall time of the epochs in the history went (so a
        resumed run's file keeps the time of its earlier calls)."""
        write_json_atomic(self.run_dir / "train.json",
                          {**self.config.to_dict(), "seconds": wall_time_split(self.history)})

    def save_state(self, finished: str | None = None) -> dict:
        """Writes history.csv, then state.json (where training stands and why it stopped)."""
        progress = self.progress
        state = {"epoch": self.epoch, "step": self.step, "criterion": self.criterion,
                 "best_validation": progress.best, "best_epoch": progress.best_epoch,
                 "epochs_without_improvement": progress.stale, "epochs": self.config.epochs, "finished": finished}
        write_history(self.run_dir, self.history)
        self.write_settings()
        write_json_atomic(self.run_dir / "state.json", state)
        return state

    def save_checkpoint(self) -> None:
        self.manager.save(checkpoint_number=self.step)

    def train_epoch(self, epoch: int, max_batches: int | None, batches_before: int) -> tuple[int, int, bool]:
        """Trains the rest of ``epoch``; returns (training frames, batches trained, stopped by max_batches).
        The wall time of batches that traced the step (a new shape) goes to ``compile_seconds``."""
        config = self.config
        self.optimizer.learning_rate.assign(
            config.learning_rate * config.lr_decay ** epoch
            * 0.5 ** learning_rate_halvings(self.history, self.criterion, config.lr_halve_after))
        skip = int(self.batch_var)
        if not skip:  # mid-epoch, the restored trackers hold the epoch's running means
            self.model.reset_metrics()
        frames, trained = 0, 0
        traces, started = self.batches.traces(), time.monotonic()
        for metrics, real_frames in self.batches.train_epoch(epoch, skip):
            cost = float(metrics["cost"])
            now = time.monotonic()
            if self.batches.traces() != traces:
                traces, self.compile_seconds = self.batches.traces(), self.compile_seconds + now - started
            started = now
            if not math.isfinite(cost):
                raise TrainingError(f"the cost became {cost} at step {self.step} (epoch {epoch + 1}); the last good "
                                    f"checkpoint is kept in {self.run_dir / 'checkpoints'}; lower --learning-rate "
                                    "and run again with --restart")
            self.batch_var.assign_add(1)
            if self.average:
                self.average.update(real_frames)
            frames, trained = frames + real_frames, trained + 1
            if config.checkpoint_every and int(self.batch_var) % config.checkpoint_every == 0:
                self.save_checkpoint()
            if max_batches is not None and batches_before + trained >= max_batches:
                self.save_checkpoint()
                return frames, trained, True
        return frames, trained, False

    def epoch_row(self, epoch: int, seconds: float, frames: int) -> dict:
        """The epoch's training figures, then validation's (on the averaged weights when averaging):
        the valid split's cost and monitor every epoch when they are the criterion, else with each
        validation NLL. ``seconds``: the epoch's training wall time, compiling included (``compile_seconds``)."""
        from pianorbm.model.likelihood import VALIDATION_NLL, validation_nll

        train_metrics = {m.name: float(m.result()) for m in self.model.metrics}
        self.model.reset_metrics()
        due = bool(self.every) and self.batches.has_valid and (
            (epoch + 1) % self.every == 0 or epoch + 1 == self.config.epochs)
        valid = {"cost": "", "monitor": ""}
        if not self.batches.has_valid:
            valid = dict(train_metrics)
        elif due or not self.every:
            valid = self.batches.validation()
        row = {"epoch": epoch + 1, "step": self.step,
               "cost": round(train_metrics["cost"], 5), "monitor": round(train_metrics["monitor"], 5),
               "val_cost": _rounded(valid["cost"]), "val_monitor": _rounded(valid["monitor"]),
               "learning_rate": float(self.optimizer.learning_rate.numpy()), "seconds": round(seconds, 2),
               "frames_per_s": round(frames / seconds) if seconds else 0,
               "compile_seconds": round(min(self.compile_seconds, seconds), 2)}
        if self.every:
            estimator = VALIDATION_NLL[self.config.validation]
            if self.config.validation_frames:
                estimator = replace(estimator, frames=self.config.validation_frames)
            row["val_nll"] = round(validation_nll(self.model, self.records_dir, estimator, seed=self.config.seed),
                                   5) if due else ""
        return row

    def write_logs(self, row: dict) -> None:
        """TensorBoard scalars of the row, and every ``image_every`` epochs a sample's piano roll."""
        from pianorbm.common.quiet import tf

        epoch = row["epoch"]
        with self.writer.as_default(step=epoch):
            for name, value in row.items():
                if name not in ("epoch", "step") and _measured(value):
                    tf.summary.scalar(name, value)
            if self.config.image_every and epoch % self.config.image_every == 0:
                from pianorbm.model.generate import generate_rolls

                roll = generate_rolls(self.model, 1, 128, k=self.model.k, seed=self.config.seed + epoch - 1)[0].numpy()
                png = roll_figure_png(roll, steps_per_quarter=self.info["steps_per_quarter"], dt=self.info["dt"],
                                      title=f"epoch {epoch}")
                write_bytes_atomic(self.run_dir / "images" / f"sample-epoch-{epoch:04d}.png", png)
                tf.summary.image("sample", tf.io.decode_png(png)[None], max_outputs=1)
        self.writer.flush()

    def end_epoch(self, epoch: int, seconds: float, frames: int) -> None:
        """Validates, keeps the best weights, logs; then the epoch counts as done (history before checkpoint:
        a kill between the two redoes this epoch)."""
        validating = time.monotonic()
        with self.average.swapped_in() if self.average else contextlib.nullcontext():
            row = self.epoch_row(epoch, seconds, frames)
            improved = self.progress.record(row)
            if improved:
                save_model_weights(self.model, self.run_dir / "best.weights.h5")
            self.write_logs(row)
        row["validate_seconds"] = round(time.monotonic() - validating, 2)  # validation, best weights, logs
        self.history.append(row)
        self.compile_seconds = 0.0
        self.log(f"epoch {epoch + 1}/{self.config.epochs}: cost {row['cost']:.3f} monitor {row['monitor']:.3f}"
                 + (f" val_monitor {row['val_monitor']:.3f}" if _measured(row["val_monitor"]) else "")
                 + (f" val_nll {row['val_nll']:.3f}" if _measured(row.get("val_nll")) else "")
                 + f" ({row['frames_per_s']:,} frames/s)" + (" *" if improved else ""))
        self.epoch_var.assign(epoch + 1)
        self.batch_var.assign(0)
        self.save_state()
        self.save_checkpoint()


def _train(records_dir: Path, run_dir: Path, config: TrainConfig, info: dict, data: dict, state: dict,
           strategy, log, max_batches: int | None, shared_dir: Path | None = None) -> dict:
    training = Training(records_dir, run_dir, config, info, strategy, log)
    training.restore_or_start(state.get("epoch", 0), data)
    if config.distribute == "multi-worker":
        check_same_start(strategy, training.step, shared_dir or run_dir)
    if training.epoch < config.epochs:
        log(f"training a {config.cell} RNN-RBM on {info['splits']['train']['frames']:,} frames from epoch "
            f"{training.epoch + 1} of {config.epochs}; compiling the training step first (seconds to a minute)")
    batches_this_call = 0
    while training.epoch < config.epochs:
        epoch, started = training.epoch, time.monotonic()
        compiling = " (compiling the training step first)" if not batches_this_call else ""
        with heartbeat(log, f"epoch {epoch + 1}{compiling}"):  # an epoch logs its line only when it ends
            frames, trained, stopped = training.train_epoch(epoch, max_batches, batches_this_call)
            batches_this_call += trained
            if stopped:
                log(f"stopped after {batches_this_call} batches as asked (epoch {epoch + 1}, batch "
                    f"{int(training.batch_var)})")
                return training.save_state()
            training.end_epoch(epoch, time.monotonic() - started, frames)
        progress = training.progress
        if config.patience and progress.stale >= config.patience:
            log(f"early stop: no better {progress.criterion} in {progress.stale} validations (best "
                f"{progress.best:.4f} at epoch {progress.best_epoch})")
            return _finish(training, "early_stopped")
    return _finish(training, "completed")


def _finish(training: Training, why: str) -> dict:
    state = training.save_state(finished=why)
    training.log(describe_wall_time(wall_time_split(training.history)))
    return state
