"""``pianorbm sample``: MIDI files and pictures from a trained run, settings in samples.json.

Everything about the data (grid, pitch range) comes from the run folder, so no training flag is
repeated. Outputs are ``sample-000.mid`` / ``sample-000.png``... and ``samples.json``, each written
atomically.
"""

from __future__ import annotations

import io
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from pianorbm.common import storage
from pianorbm.common.files import write_bytes_atomic, write_json_atomic
from pianorbm.curate.errors import CurationError
from pianorbm.curate.file_curation import parse_song
from pianorbm.model.config import DEFAULT_SAMPLE_STEPS, SWEEPS_PER_FRAME, SampleConfig
from pianorbm.model.pretrained import is_pretrained, pretrained_entry
from pianorbm.model.run_folder import RunFolderError, is_model_file, load_trained
from pianorbm.rolls.audio import AudioUnavailable, SoundFontError, find_synthesiser, render
from pianorbm.rolls.music_stats import compare, public, set_statistics
from pianorbm.rolls.roll_figure import roll_figure_png
from pianorbm.rolls.pianoroll import HIGHEST_PITCH, KEYS, LOWEST_PITCH, notes_to_roll, roll_to_midi


class SampleError(Exception):
    """Sampling cannot run as asked; the message says why."""


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuses a folder that holds earlier samples unless they may be replaced: nothing a user made is
    overwritten silently."""
    out_dir = Path(out_dir)
    if overwrite or not out_dir.is_dir():
        return
    earlier = sorted(path.name for path in [*out_dir.glob("sample-*.*"), *out_dir.glob("reference.*"),
                                            *out_dir.glob("samples.json")] if not path.name.startswith("."))
    if earlier:
        shown = ", ".join(earlier[:3]) + (f" and {len(earlier) - 3} more" if len(earlier) > 3 else "")
        raise SampleError(f"{out_dir} holds earlier samples ({shown}); sample into another folder, or pass "
                          "--overwrite to replace them")


def requested_steps(config: SampleConfig, steps_per_quarter: int | None, dt: float | None) -> int:
    if config.bars is not None:
        if steps_per_quarter is None:
            raise SampleError("the run was trained on a seconds grid: use --seconds or --steps, not --bars")
        return max(1, round(config.bars * 4 * steps_per_quarter))
    if config.seconds is not None:
        if steps_per_quarter is None:
            return max(1, round(config.seconds / dt))
        return max(1, round(config.seconds * config.qpm / 60 * steps_per_quarter))
    return config.steps if config.steps is not None else DEFAULT_SAMPLE_STEPS


def primer_roll(config: SampleConfig, steps_per_quarter: int | None, dt: float | None) -> np.ndarray | None:
    if config.primer_pitches:  # in 21-108 and exclusive with primer: checked by SampleConfig
        roll = np.zeros((1, KEYS), np.float32)
        roll[0, [p - LOWEST_PITCH for p in config.primer_pitches]] = 1
        return roll
    if config.primer:
        path = Path(config.primer).expanduser()
        try:
            song, _ = parse_song(path.read_bytes())
        except CurationError as err:
            raise SampleError(f"primer {path} is not a readable MIDI file: {err}") from None
        pitches = song.notes.pitch
        if len(pitches) and ((pitches < LOWEST_PITCH) | (pitches > HIGHEST_PITCH)).all():
            raise SampleError(f"every note of primer {path} is outside the model's range {LOWEST_PITCH}-{HIGHEST_PITCH}")
        roll = notes_to_roll(song, song.notes, steps_per_quarter=steps_per_quarter, dt=dt)
        if not len(roll):
            raise SampleError(f"primer {path} has no notes")
        return roll[: config.primer_steps].astype(np.float32)
    return None


DATA_PIECES = 500  # the training data's statistics come from at most this many of its pieces


def data_rolls(data: dict, run_dir: Path | None = None, pieces: int = DATA_PIECES) -> list[np.ndarray] | None:
    """Rolls of the training split the model learnt from (untransposed), when its records are at hand
    (``data["records"]``: relative to ``run_dir``, the folder the description came from, or absolute)."""
    from pianorbm.rolls.pianoroll import cells_to_roll
    from pianorbm.rolls.records import RecordsError, read_split

    if not data.get("records"):
        return None
    records = Path(run_dir or ".") / data["records"]
    try:
        examples = [e for e in read_split(records, "train") if e["transpose"] == 0][:pieces]
    except (RecordsError, OSError, KeyError, ValueError):
        return None
    return [cells_to_roll(e["cells"], e["num_frames"]) for e in examples]


def write_piece(out_dir: Path, name: str, roll: np.ndarray, steps_per_quarter: int | None, dt: float | None,
                config: SampleConfig, synthesiser, warnings: list[str], title: str) -> dict:
    """``name``.mid, its picture and (with a synthesiser) its audio; returns their description."""
    buffer = io.BytesIO()
    if steps_per_quarter:
        roll_to_midi(roll, steps_per_quarter=steps_per_quarter, qpm=config.qpm, reattack=config.reattack).save(
            file=buffer)
    else:  # a seconds grid: pick the tempo at which one step lasts dt
        roll_to_midi(roll, steps_per_quarter=1, qpm=60 / dt, reattack=config.reattack).save(file=buffer)
    write_bytes_atomic(out_dir / f"{name}.mid", buffer.getvalue())
    write_bytes_atomic(out_dir / f"{name}.png", roll_figure_png(roll, steps_per_quarter=steps_per_quarter, dt=dt,
                                                                title=title))
    written = {"midi": f"{name}.mid", "png": f"{name}.png", "notes_per_frame": float(roll.sum(1).mean()),
               "silent_frames": int((~roll.any(1)).sum())}
    if synthesiser is not None:
        audio = out_dir / f"{name}.{config.audio}"
        try:
            render(synthesiser, out_dir / f"{name}.mid", audio)
            written["audio"] = audio.name
        except (OSError, subprocess.SubprocessError) as err:
            warnings.append(f"{name}: FluidSynth failed ({err}); its MIDI file is written")
    return written


def sample_statistics(rolls: np.ndarray, training: list[np.ndarray] | None, seconds_per_frame: float,
                      data_statistics: dict | None = None) -> dict:
    """Music statistics of the samples beside those of the training data: computed from its rolls
    when its records are here, else the ones a pretrained model ships with."""
    if training:
        data_statistics = set_statistics(training, seconds_per_frame)
    if not data_statistics:
        return {"samples": public(set_statistics(list(rolls), seconds_per_frame)), "data": None,
                "note": "the training records are not at hand: no comparison"}
    sample_set = set_statistics(list(rolls), seconds_per_frame, data_statistics["usual_max_voices"])
    return {"samples": public(sample_set), "data": public(data_statistics),
            "comparison": compare(sample_set, data_statistics),
            "note": f"data: {data_statistics['pieces']} pieces of the train split (untransposed), "
                    + ("timed at the samples' tempo" if training else "shipped with the pretrained model")}


def sample_run(run_dir: Path, out_dir: Path, config: SampleConfig, *, overwrite: bool = False) -> dict:
    """Generates ``config.num_outputs`` pieces from the run in ``run_dir`` into ``out_dir``; earlier
    samples there are replaced only with ``overwrite``."""
    from pianorbm.model.generate import generate_rolls

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    check_out_dir(out_dir, overwrite)
    synthesiser, warnings = None, []
    if config.audio != "none":
        try:
            synthesiser = find_synthesiser(config.soundfont)
        except SoundFontError as err:
            raise SampleError(str(err)) from err
        except AudioUnavailable as err:
            warnings.append(str(err))
    try:
        model, data = load_trained(run_dir, config.weights)
    except RunFolderError as err:
        raise SampleError(str(err)) from err
    steps_per_quarter, dt = data.get("steps_per_quarter"), data.get("dt")
    steps = requested_steps(config, steps_per_quarter, dt)
    primer = primer_roll(config, steps_per_quarter, dt)
    if primer is not None and len(primer) > steps:
        raise SampleError(f"the primer has {len(primer)} frames, more than the {steps} requested; "
                          "ask for more steps or a shorter --primer-steps")
    threshold = config.threshold if config.threshold is not None else (0.5 if config.mode == "mean" else 0.0)
    started = time.perf_counter()
    sweeps = config.k or SWEEPS_PER_FRAME[config.sampler]
    rolls = generate_rolls(model, config.num_outputs, steps, k=sweeps, seed=config.seed,
                           temperature=config.temperature, mode=config.mode, threshold=threshold,
                           top_n=config.top_n, primer=primer, feedback=config.feedback, sampler=config.sampler,
                           replicas=config.replicas).numpy().astype(bool)
    seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds_per_frame = 60 / (config.qpm * steps_per_quarter) if steps_per_quarter else dt
    outputs = []
    for index, roll in enumerate(rolls):
        name = f"sample-{index:03d}"
        if not roll.any():
            warnings.append(f"{name}.mid has no notes (mode {config.mode}, threshold {threshold:g}): try --mode sample "
                            "or a lower --threshold")
        outputs.append(write_piece(out_dir, name, roll, steps_per_quarter, dt, config, synthesiser, warnings,
                                   title=f"{name} ({config.mode}, seed {config.seed})"))
    # a run folder's records path is relative to it; a model file's is as export wrote it
    # a shipped model carries its data's statistics, never a path into this machine's folders
    training = None if is_pretrained(run_dir) else data_rolls(data, None if is_model_file(run_dir) else run_dir)
    shipped = pretrained_entry(str(run_dir)).get("data_statistics") if is_pretrained(run_dir) else None
    statistics = sample_statistics(rolls, training, seconds_per_frame, shipped)
    reference = None
    if training:  # a real piece of the training data, written the same way, to listen to beside the samples
        reference = write_piece(out_dir, "reference", training[0][:max(steps, 1)], steps_per_quarter, dt, config,
                                synthesiser, warnings, title="a piece of the training data")
    written = {output[kind] for output in outputs for kind in ("midi", "png", "audio") if kind in output}
    if reference is not None:
        written |= {reference[kind] for kind in ("midi", "png", "audio") if kind in reference}
    for stale in [*out_dir.glob("sample-*.*"), *out_dir.glob("reference.*")]:
        if stale.name not in written and not stale.name.startswith("."):  # left by an earlier, larger request
            stale.unlink()
    summary = {"stage": "sample", "run": str(run_dir) if is_pretrained(run_dir) else storage.relative(run_dir, out_dir),
               "settings": {**asdict(config), "threshold": threshold, "k": sweeps},
               "steps": steps, "steps_per_quarter": steps_per_quarter, "dt": dt,
               "primer_frames": 0 if primer is None else len(primer), "seconds": round(seconds, 3),
               "outputs": outputs, "reference": reference, "statistics": statistics, "warnings": warnings}
    write_json_atomic(out_dir / "samples.json", summary)
    return summary
