"""``report.html``: one static page over a pipeline's folders (no server, no script, no download).

Sections: stages, curation, corpus, dataset, training, evaluation, samples. Each reads the
self-description its stage left (curation.json and the manifest, dataset.json, history.csv,
eval-<split>.json, samples.json); a stage that has not run yet gets its section with a line saying
so. Pictures and MIDI files are linked by paths relative to the report, so the output folder can
be moved or served as it is.
"""

from __future__ import annotations

import json
import math
import time
from html import escape
from pathlib import Path

import pandas as pd

from pianorbm.common.files import write_text_atomic
from pianorbm.pipelines.svg_charts import bar_chart, line_chart

MANIFEST_ROWS_SHOWN = 200
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FACT_COLUMNS = [("path", "file"), ("status", "status"), ("reason", "reason"), ("kept_notes", "notes kept"),
                ("duration_s", "seconds"), ("pitch_min", "lowest"), ("pitch_max", "highest"),
                ("polyphony_mean", "mean polyphony"), ("evidence", "piano evidence")]

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; } td, th { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 420px; overflow: auto; border: 1px solid #eee; }
.muted { color: #777; } .failed { color: #b53f3f; font-weight: bold; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg.chart text { fill: #444; } svg.chart .title { font-size: 13px; font-weight: bold; }
svg.chart .grid { stroke: #eee; } svg.chart .axis { stroke: #999; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1em; }
.sample img { width: 100%; height: auto; border: 1px solid #ddd; } .sample audio { width: 100%; margin-top: 0.3em; }
"""


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_history(path: Path) -> pd.DataFrame | None:
    """history.csv with at least one epoch, or None."""
    try:
        history = pd.read_csv(path)
    except (OSError, ValueError):  # missing, empty (pandas' EmptyDataError is a ValueError) or unreadable
        return None
    return history if len(history) and "epoch" in history else None


def _table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="num">{escape(_cell(v))}</td>' if i in numeric
                                    else f"<td>{escape(_cell(v))}</td>" for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _missing(what: str) -> str:
    return f'<p class="muted">{escape(what)}</p>'


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _stages_section(state: dict | None) -> str:
    if not state or not state.get("last_run"):
        return _section("stages", "Stages", _missing("The pipeline has not run here yet."))
    rows = []
    for outcome in state["last_run"]:
        took = state["stages"].get(outcome["stage"], {}).get("seconds") if outcome["status"] == "skipped" \
            else outcome["seconds"]
        rows.append([outcome["stage"], outcome["status"], None if took is None else round(took, 1), outcome["note"]])
    settings = escape(json.dumps(state.get("config", {}), indent=1))
    body = (_table(["stage", "this run", "seconds (when it ran)", "result"], rows, {2})
            + f'<p>Config: <code>{escape(str(state.get("config_file", "")))}</code></p>'
            f"<details><summary>Every setting</summary><pre>{settings}</pre></details>")
    return _section("stages", "Stages", body)


def _curation_section(summary: dict | None, manifest: pd.DataFrame | None) -> str:
    if summary is None or manifest is None:
        return _section("curation", "Curation", _missing("No curation here (a benchmark import, or curate has not run)."))
    counts = manifest.groupby(["status", "reason"], dropna=False).size().reset_index(name="files")
    count_rows = [[r.status, r.reason, int(r.files)] for r in counts.itertuples()]
    count_rows.append(["total", "", len(manifest)])
    shown = manifest[[c for c, _ in FACT_COLUMNS]].head(MANIFEST_ROWS_SHOWN)
    fact_rows = [list(row) for row in shown.itertuples(index=False)]
    more = (f'<p class="muted">First {MANIFEST_ROWS_SHOWN} of {len(manifest):,} rows; every row and column: '
            f'<a href="clean/{escape(summary["manifest"])}">clean/{escape(summary["manifest"])}</a></p>'
            if len(manifest) > MANIFEST_ROWS_SHOWN else
            f'<p class="muted">Every column: <a href="clean/{escape(summary["manifest"])}">clean/{escape(summary["manifest"])}</a></p>')
    body = (f"<p>{counted(len(manifest), 'input file')} from <code>{escape(summary['source'])}</code>.</p>"
            "<h3>Files per status and reason</h3>" + _table(["status", "reason", "files"], count_rows, {2})
            + "<h3>The manifest's main facts</h3>"
            + f'<div class="scroll">{_table([h for _, h in FACT_COLUMNS], fact_rows, {3, 4, 5, 6, 7})}</div>' + more)
    return _section("curation", "Curation", body)


def _pitch_label(key: int, lowest: int) -> str:
    pitch = key + lowest
    return f"C{pitch // 12 - 1}" if pitch % 12 == 0 else ""


def _duration_histogram(manifest: pd.DataFrame | None, info: dict | None) -> str:
    if manifest is not None:
        values = manifest.loc[manifest.status == "kept", "duration_s"].astype(float).dropna().tolist()
        unit = "seconds"
    elif info is not None:
        values = [float(p["frames"]) for p in info["pieces"]]
        unit = "frames"
    else:
        return _missing("No pieces yet.")
    if not values:
        return _missing("No kept pieces.")
    low, high = min(values), max(values)
    bins = 20
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    labels = [f"{low + i * width:.0f}" if i % 4 == 0 else "" for i in range(bins)]
    return bar_chart(counts, labels, f"Piece lengths ({counted(len(values), 'piece')})", f"length ({unit}, bin start)", "pieces")


def _corpus_section(manifest: pd.DataFrame | None, info: dict | None) -> str:
    if info is None:
        pitches = _missing("No records yet: the pitch histogram comes from build-records.")
    else:
        histogram = info["pitch_histograms"]["train"]
        labels = [_pitch_label(key, info["lowest_pitch"]) for key in range(len(histogram))]
        pitches = bar_chart([float(v) for v in histogram], labels, "Pitches (active frames per key, train split)",
                            "key", "frames")
    return _section("corpus", "Corpus", pitches + _duration_histogram(manifest, info))


def _dataset_section(info: dict | None) -> str:
    if info is None:
        return _section("dataset", "Dataset", _missing("build-records has not run yet."))
    rows = [[split, s["pieces"], s["examples"], s["frames"], len(s["shards"])] for split, s in info["splits"].items()]
    grid = (f"{info['steps_per_quarter']} steps per quarter note" if info.get("steps_per_quarter")
            else f"{info['dt']} s per step")
    dropped = ", ".join(f"{k}: {v}" for k, v in info.get("dropped", {}).items()) or "nothing"
    body = (_table(["split", "pieces", "examples (with transpositions)", "frames", "shards"], rows, {1, 2, 3, 4})
            + f"<p>Grid: {escape(grid)}. Transposition of train: {escape(str(info['config']['transpose']))}. "
              f"Dropped: {escape(dropped)}.</p>")
    return _section("dataset", "Dataset", body)


def _training_section(run: Path) -> str:
    from pianorbm.model.run_folder import describe_wall_time

    history = _read_history(run / "history.csv")
    if history is None:
        started = (run / "train.json").is_file()
        return _section("training", "Training", _missing(
            "train has not finished an epoch yet." if started else "train has not run yet: no run folder here."))
    epochs = history.epoch.astype(float).tolist()

    def column(name: str) -> list[float]:
        return history[name].astype(float).tolist() if name in history else []

    state = _read_json(run / "state.json") or {}
    settings = _read_json(run / "train.json") or {}
    charts = (line_chart(epochs, {"train": column("monitor"), "validation": column("val_monitor")},
                         "Monitor: one-step reconstruction cross-entropy per frame", "epoch", "nats per frame")
              + line_chart(epochs, {"train": column("cost"), "validation": column("val_cost")},
                           "CD cost (free-energy difference per frame)", "epoch", "cost"))
    if "val_nll" in history and history.val_nll.notna().any():
        from pianorbm.model.likelihood import VALIDATION_NLL

        how = VALIDATION_NLL[settings.get("validation", "quick")].describe()
        charts += line_chart(epochs, {"validation": column("val_nll")}, f"Validation NLL per frame ({how})",
                             "epoch", "nats per frame")
    best = state.get("best_validation", state.get("best_monitor"))  # the older name
    facts = (f"<p>{escape(str(settings.get('cell', '?')))} conditioner, {settings.get('hidden')} hidden, "
             f"{settings.get('recurrent')} recurrent units, CD-{settings.get('k')}; "
             f"epoch {state.get('epoch')} (step {state.get('step')}), {escape(str(state.get('finished') or 'in progress'))}; "
             f"best {escape(state.get('criterion', 'val_monitor'))} {best if best is None else f'{best:.3f}'} "
             f"at epoch {state.get('best_epoch')} (its weights are the ones sampled and evaluated); "
             + (f"{history.frames_per_s.iloc[-1]:,.0f} frames/s in the last epoch." if "frames_per_s" in history else "")
             + (f" The {escape(describe_wall_time(settings['seconds']))}." if "seconds" in settings else "")
             + "</p>")
    return _section("training", "Training", facts + charts)


def _with_interval(figure: dict, name: str, scale: float = 1.0, digits: int = 3, unit: str = "") -> str:
    if name not in figure:
        return ""
    low, high = figure.get(f"{name}_ci95", [None, None])
    interval = f" [{scale * low:.{digits}f}, {scale * high:.{digits}f}]" if low is not None else ""
    return f"{scale * figure[name]:.{digits}f}{unit}{interval}"


def _evaluation_section(run: Path) -> str:
    results = [r for r in (_read_json(p) for p in sorted(run.glob("eval-*.json"))) if r and "floors" in r]
    if not results:
        return _section("evaluation", "Evaluation", _missing("Not evaluated (add an [evaluate] section to the config)."))
    rows = []
    for r in results:
        previous, independent = r["floors"]["previous_frame"], r["floors"]["independent_keys"]
        bracket = _with_interval(r, "nll") + (f" to {r['nll_reverse']:.3f} (reverse AIS)" if "nll_reverse" in r else "")
        rows.append([f"this run ({r['split']})", bracket, _with_interval(r, "accuracy", 100, 1, " %"),
                     _with_interval(r, "accuracy_likely_keys", 100, 1, " %"), r["frames"]])
        rows.append(["floor: previous frame (per-key Markov)", _with_interval(previous, "nll") + " (exact)",
                     _with_interval(previous, "accuracy_sampled", 100, 1, " %") + " (sampled)",
                     _with_interval(previous, "accuracy", 100, 1, " %") + " (copy)", r["frames"]])
        rows.append(["floor: independent keys", _with_interval(independent, "nll") + " (exact)",
                     _with_interval(independent, "accuracy", 100, 1, " %") + " (sampled)", "", r["frames"]])
        for model, nll in r.get("published", {}).items():
            accuracy = r.get("published_accuracy", {}).get(model)
            rows.append([f"{model}, Boulanger-Lewandowski et al. 2012", f"{nll:.2f}",
                         f"{100 * accuracy:.2f} % (protocol not stated)" if accuracy else "", "", ""])
    note = escape(results[0].get("conventions", ""))
    body = (_table(["model", "NLL per time step: AIS (reads low) [95 % CI] to reverse AIS (reads high)",
                    "expected accuracy [95 % CI]", "keys with p > 1/2 [95 % CI]", "frames"], rows, {1, 2, 3, 4})
            + f'<p class="muted">{note}; AIS with {results[0]["settings"]["ais_chains"]} chains x '
              f'{results[0]["settings"]["ais_betas"]} inverse temperatures.</p>')
    return _section("evaluation", "Evaluation", body)


STATISTICS_ROWS = [("notes_per_second", "notes per second", 2, 1), ("voices_mean", "voices (mean, sounding frames)", 2, 1),
                   ("voices_max", "voices (most at once)", 0, 1), ("voices_above_usual", "frames above the data's usual "
                                                                                   "maximum of voices", 1, 100),
                   ("clash_rate", "sounding frames with a semitone clash", 1, 100),
                   ("key_fit", "key fit (Krumhansl-Kessler correlation)", 2, 1), ("pitch_span", "pitch span (semitones)", 1, 1),
                   ("silent_rate", "silent frames", 1, 100), ("note_length_median", "note length, median (frames)", 1, 1),
                   ("inter_onset_median", "inter-onset interval, median (frames)", 1, 1)]


def _statistics_table(statistics: dict | None, heading: str) -> str:
    """One set of samples' music statistics beside those of the data its model learnt from (a pretrained
    model's samples get a table of their own: their data lie on another grid, in another range)."""
    if not statistics:
        return ""
    samples, data = statistics.get("samples"), statistics.get("data")
    overlap = (statistics.get("comparison") or {}).get("overlap", {})
    within = (statistics.get("comparison") or {}).get("within_data_range", {})
    rows = []
    for key, label, digits, scale in STATISTICS_ROWS:
        def shown(value):
            return "" if value is None else f"{scale * value:.{digits}f}" + (" %" if scale == 100 else "")
        overlap_key = {"note_length_median": "note_lengths", "inter_onset_median": "inter_onsets"}.get(key, key)
        rows.append([label, shown(samples.get(key)), shown((data or {}).get(key)),
                     "" if overlap.get(overlap_key) is None else f"{overlap[overlap_key]:.2f}",
                     "" if within.get(key) is None else f"{100 * within[key]:.0f} %"])
    header = ["statistic", "samples", "the data the model learnt from", "overlap, samples vs data (1: same)",
              "samples within the data's middle 90 % of pieces"]
    distance = (statistics.get("comparison") or {}).get("pitch_class_distance")
    note = escape(statistics.get("note", ""))
    return (f"<h3>{escape(heading)}</h3>"
            + _table(header, rows, set(range(1, len(header))))
            + (f"<p>Pitch-class histogram distance from the data (total variation, 0 = same): {distance:.2f}.</p>"
               if distance is not None else "")
            + f'<p class="muted">{note}; overlap: shared area of the per-piece histograms (Yang &amp; Lerch 2020).</p>')


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 piece', '2 pieces', '1,204 frames'."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _piece_card(folder: str, piece: dict, caption: str) -> str:
    midi, png = f"{folder}/{piece['midi']}", f"{folder}/{piece['png']}"
    audio = (f'<audio controls preload="metadata" src="{folder}/{escape(piece["audio"])}"></audio>'
             if piece.get("audio") else '<p class="muted">no audio (see the warnings above)</p>')
    return (f'<figure class="sample"><a href="{escape(midi)}"><img src="{escape(png)}" '
            f'alt="piano roll of {escape(piece["midi"])}"></a>{audio}<figcaption><a href="{escape(midi)}">'
            f'{escape(piece["midi"])}</a> · {caption}</figcaption></figure>')


def _cards(folder: str, summary: dict, reference: bool = True) -> str:
    cards = [_piece_card(folder, output, f'{output["notes_per_frame"]:.2f} notes per frame · '
                                         f'{counted(output["silent_frames"], "silent frame")}')
             for output in summary["outputs"]]
    if reference and summary.get("reference"):
        cards.append(_piece_card(folder, summary["reference"], "a real piece of the training data, written the same way"))
    warnings = "".join(f'<p class="failed">{escape(w)}</p>' for w in summary.get("warnings", []))
    return warnings + f'<div class="samples">{"".join(cards)}</div>'


def _samples_section(samples: Path, pretrained_samples: Path | None = None) -> str:
    summary = _read_json(samples / "samples.json")
    if summary is None:
        return _section("samples", "Samples", _missing("sample has not run yet."))
    settings = summary["settings"]
    pretrained = _read_json(pretrained_samples / "samples.json") if pretrained_samples else None
    body = (f"<p>{counted(len(summary['outputs']), 'piece')} of {counted(summary['steps'], 'frame')}, mode {escape(settings['mode'])} "
            f"(the model following its {escape(settings.get('feedback', 'emitted'))}), "
            f"temperature {settings['temperature']}, {settings['k']} Gibbs steps per frame, seed {settings['seed']}. "
            "Pictures: time in bars, pitch names at each C; click one for its MIDI file.</p>"
            + _cards("samples", summary))
    if pretrained is not None:
        body += (f"<h3>The same settings on {escape(pretrained['run'])}, a model that ships with pianorbm</h3>"
                 + _cards(pretrained_samples.name, pretrained, reference=False))
    body += _statistics_table(summary.get("statistics"), "This run's samples as music, beside its training data")
    if pretrained is not None:
        body += _statistics_table(pretrained.get("statistics"), f"{pretrained['run']}'s samples as music, beside "
                                                                 "the data it was trained on")
    return _section("samples", "Samples", body)


def _drawn(anchor: str, build) -> str:
    """A section, or a line saying why it could not be drawn: one odd file never costs the whole report."""
    try:
        return build()
    except Exception as err:  # noqa: BLE001 (the report is written even when a stage left something odd)
        return _section(anchor, anchor.capitalize(), f'<p class="failed">Could not be drawn from what is there: '
                                                      f"{escape(type(err).__name__)}: {escape(str(err))}</p>")


def write_report(layout, config) -> Path:
    """Writes ``report.html`` into the pipeline's output folder (atomically) and returns its path."""
    state = _read_json(layout.state)
    info = _read_json(layout.records / "dataset.json")
    curation = _read_json(layout.clean / "curation.json")
    manifest = None
    if curation is not None:
        from pianorbm.curate.manifest import read_manifest

        try:
            manifest = read_manifest(layout.clean)
        except (OSError, ValueError):  # curation stopped before writing its manifest
            manifest = None
    builders = [("stages", lambda: _stages_section(state)), ("curation", lambda: _curation_section(curation, manifest)),
                ("corpus", lambda: _corpus_section(manifest, info)), ("dataset", lambda: _dataset_section(info)),
                ("training", lambda: _training_section(layout.run)),
                ("evaluation", lambda: _evaluation_section(layout.run)),
                ("samples", lambda: _samples_section(layout.samples, layout.pretrained_samples))]
    sections = [_drawn(anchor, build) for anchor, build in builders]
    source = f"{config.source}: {config.location}"
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>pianorbm report: {escape(source)}</title><style>{STYLE}</style></head><body>"
            f"<h1>pianorbm report</h1><p class=\"muted\">{escape(source)} · written "
            f"{time.strftime('%Y-%m-%d %H:%M')}</p>"
            "<nav>" + " · ".join(f'<a href="#{a}">{a}</a>' for a in
                                 ("stages", "curation", "corpus", "dataset", "training", "evaluation", "samples"))
            + "</nav>" + "".join(sections) + "</body></html>\n")
    write_text_atomic(layout.report, page)
    return layout.report
