"""Scores (MusicXML, ABC, Humdrum) as curation input, converted through music21: real scores from
music21's bundled corpus, and broken ones."""

from __future__ import annotations

import json
import shutil

import pytest

from pianorbm.curate.config import CurateConfig
from pianorbm.curate.curation import curate_folder
from pianorbm.curate.file_curation import parse_song
from pianorbm.curate.music21_corpus import corpus_root
from pianorbm.curate.scores import clean_relpath
from pianorbm.rolls.build_records import build_records
from pianorbm.rolls.records_config import RecordsConfig

SCORES = {
    "maple_leaf_rag.mxl": "joplin/maple_leaf_rag.mxl",  # piano MusicXML (compressed)
    "reel.abc": "ryansMammoth/PaddyMilesFricasseeReel.abc",  # ABC
    "credo.krn": "palestrina/Credo_67_c.krn",  # Humdrum
    "chorale.xml": "demos/multiple-verses.xml",  # uncompressed MusicXML, too short to keep
}


@pytest.fixture
def score_folder(tmp_path, shared_midi):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, work in SCORES.items():
        shutil.copy(corpus_root() / work, raw / name)
    (raw / "broken.abc").write_text("this is not ABC notation\n")
    (raw / "other.xml").write_text('<?xml version="1.0"?><catalogue/>')
    shutil.copy(next((shared_midi / "piano").glob("*.mid")), raw / "a piano file.mid")
    return raw


def test_scores_are_ignored_unless_asked_for(score_folder, tmp_path):
    result = curate_folder(score_folder, tmp_path / "clean", CurateConfig(), jobs=2)
    assert list(result.manifest.path) == ["a piano file.mid"]


def test_scores_are_converted_once_and_curated_like_midi(score_folder, tmp_path):
    clean = tmp_path / "clean"
    result = curate_folder(score_folder, clean, CurateConfig(scores=True), jobs=2)
    rows = result.manifest.set_index("path")
    assert len(rows) == 7
    for name in ("maple_leaf_rag.mxl", "reel.abc", "credo.krn"):
        assert rows.loc[name, "status"] == "kept", rows.loc[name].to_dict()
        assert rows.loc[name, "parser"].startswith("music21+")
        song, _ = parse_song((clean / clean_relpath(name)).read_bytes())
        assert len(song.notes) == rows.loc[name, "kept_notes"] >= 32
    assert (rows.loc["chorale.xml", "status"], rows.loc["chorale.xml", "reason"]) == ("rejected", "too_few_notes")
    for name in ("broken.abc", "other.xml"):
        assert (rows.loc[name, "status"], rows.loc[name, "reason"]) == ("unreadable", "score_unreadable")
        assert "music21 cannot parse" in rows.loc[name, "detail"]
    assert rows.loc["a piano file.mid", "status"] == "kept" and (clean / "a piano file.mid").exists()
    assert sorted(p.name for p in clean.glob("*.mid")) == ["a piano file.mid", "credo.krn.mid",
                                                          "maple_leaf_rag.mxl.mid", "reel.abc.mid"]

    again = curate_folder(score_folder, clean, CurateConfig(scores=True), jobs=2)
    assert (again.processed, again.reused) == (0, 7)  # nothing is converted twice

    info = build_records(tmp_path / "records", RecordsConfig(split=(1.0, 0.0, 0.0)), clean_dir=clean)
    assert {p["piece"] for p in info["pieces"]} == {"maple_leaf_rag.mxl", "reel.abc", "credo.krn", "a piano file.mid"}


def test_piano_only_tells_a_piano_score_from_a_vocal_one(score_folder, tmp_path):
    result = curate_folder(score_folder, tmp_path / "clean", CurateConfig(scores=True, piano_only=True), jobs=2)
    rows = result.manifest.set_index("path")
    assert rows.loc["maple_leaf_rag.mxl", "status"] == "kept"
    assert rows.loc["credo.krn", "status"] == "rejected"
    summary = json.loads((tmp_path / "clean" / "curation.json").read_text())
    assert summary["config"]["scores"] is True
