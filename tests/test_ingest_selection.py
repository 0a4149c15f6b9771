"""`groundedqa ingest PATH` adds or updates PATH's documents and keeps the rest; `--sync` makes
the index match PATHs and says what it removes; `--dry-run` writes nothing (issue 12, finding 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundedqa.cli import main
from groundedqa.index.builds import builds_dir, current_build_id, open_index
from groundedqa.ingest.build import IngestError
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, SHOULDER, build_tiny, tiny_settings, write_corpus

MANIFEST = """
[[documents]]
file = "knee.txt"
doc_id = "knee-care"
title = "Knee Care Basics"
url = "https://clinic.example/knee"
publisher = "Example Clinic"

[[documents]]
file = "back.txt"
doc_id = "back-walking"
url = "https://clinic.example/back"

[[documents]]
file = "more/shoulder.txt"
doc_id = "shoulder-stretches"
url = "https://clinic.example/shoulder"
"""


@pytest.fixture
def clinic(tmp_path, monkeypatch):
    """A corpus with a manifest (one article in a subfolder), indexed; the CLI on the fake encoder."""
    corpus = write_corpus(tmp_path, knee=KNEE, back=BACK)
    (corpus / "more").mkdir()
    (corpus / "more" / "shoulder.txt").write_text(SHOULDER)
    (corpus / "manifest.toml").write_text(MANIFEST)
    settings = tiny_settings(tmp_path)
    build_tiny(settings)
    fake = HashingEncoder()
    monkeypatch.setattr("groundedqa.ingest.build.load_encoder", lambda *_a, **_k: fake)
    monkeypatch.setattr("groundedqa.ingest.build.expected_model", lambda *_a, **_k: fake.describe())
    return corpus, settings


def documents(settings) -> dict[str, dict]:
    index = open_index(settings.index)
    try:
        return {d["doc_id"]: d for d in index.store.documents()}
    finally:
        index.close()


def ingest(settings, *args: str) -> int:
    return main(["ingest", *args, "--index", str(settings.index), "--quiet"])


def test_ingesting_one_article_keeps_the_others_and_its_manifest_metadata(clinic, capsys) -> None:
    corpus, settings = clinic
    (corpus / "knee.txt").write_text(KNEE + "\nKeep the knee moving with gentle bends.\n")
    assert ingest(settings, str(corpus / "knee.txt")) == 0
    docs = documents(settings)
    assert set(docs) == {"knee-care", "back-walking", "shoulder-stretches"}
    assert docs["knee-care"]["metadata"]["url"] == "https://clinic.example/knee"
    assert docs["knee-care"]["metadata"]["publisher"] == "Example Clinic"
    assert "gentle bends" in open_index(settings.index).store.document("knee-care").text
    out = capsys.readouterr().err
    assert "update 1: knee-care" in out and "removed 0" in out


def test_article_in_a_subfolder_keeps_its_corpus_manifest_entry(clinic) -> None:
    corpus, settings = clinic
    (corpus / "more" / "shoulder.txt").write_text(SHOULDER + "\nRoll the shoulders back slowly.\n")
    assert ingest(settings, str(corpus / "more" / "shoulder.txt")) == 0
    docs = documents(settings)
    assert set(docs) == {"knee-care", "back-walking", "shoulder-stretches"}
    assert docs["shoulder-stretches"]["metadata"]["url"] == "https://clinic.example/shoulder"


def test_subfolder_of_the_corpus_keeps_its_manifest_entries(clinic, monkeypatch) -> None:
    corpus, settings = clinic
    (corpus / "more" / "shoulder.txt").write_text(SHOULDER + "\nRoll the shoulders back slowly.\n")
    monkeypatch.chdir(corpus.parent)  # a relative path, as typed
    report = build_tiny(settings, [Path("corpus/more")])
    assert report.plan.update == ["shoulder-stretches"] and report.plan.add == []
    assert report.skipped == []  # knee.txt and back.txt are not "listed but not found"
    assert set(documents(settings)) == {"knee-care", "back-walking", "shoulder-stretches"}


def test_new_article_outside_the_corpus_is_added(clinic, tmp_path) -> None:
    _, settings = clinic
    extra = tmp_path / "inbox" / "ankle.txt"
    extra.parent.mkdir()
    extra.write_text("Ankle Care\n\nElevating a sprained ankle above the heart reduces swelling.\n")
    assert ingest(settings, str(extra)) == 0
    assert set(documents(settings)) == {"knee-care", "back-walking", "shoulder-stretches", "ankle"}


def test_sync_removes_what_the_folder_no_longer_has_and_says_so(clinic, capsys) -> None:
    corpus, settings = clinic
    (corpus / "back.txt").unlink()
    assert ingest(settings, str(corpus)) == 0  # without --sync: kept
    assert "back-walking" in documents(settings)
    assert "--sync" in capsys.readouterr().err
    assert ingest(settings, str(corpus), "--sync") == 0
    assert set(documents(settings)) == {"knee-care", "shoulder-stretches"}
    out = capsys.readouterr().err
    assert "remove (indexed, not in the paths given) 1: back-walking" in out


def test_dry_run_prints_the_plan_and_writes_nothing(clinic, capsys) -> None:
    corpus, settings = clinic
    live = current_build_id(settings.index)
    builds = sorted(p.name for p in builds_dir(settings.index).iterdir())
    (corpus / "back.txt").unlink()
    (corpus / "knee.txt").write_text(KNEE + "\nA new sentence about knees.\n")
    (corpus / "hip.txt").write_text("Hip Care\n\nWalking helps stiff hips loosen up.\n")
    assert ingest(settings, str(corpus), "--sync", "--dry-run") == 0
    out = capsys.readouterr().err
    assert "dry run" in out and "add 1: hip" in out and "update 1: knee-care" in out
    assert "1: back-walking" in out and "unchanged 1" in out
    assert current_build_id(settings.index) == live
    assert sorted(p.name for p in builds_dir(settings.index).iterdir()) == builds
    assert set(documents(settings)) == {"knee-care", "back-walking", "shoulder-stretches"}


def test_a_bad_new_version_keeps_the_indexed_one(clinic, monkeypatch) -> None:
    corpus, settings = clinic
    (corpus / "knee.txt").write_text(KNEE + "\nA sentence the cleaner chokes on.\n")

    def choke(*_args: object) -> None:
        raise ValueError("cannot clean this")

    monkeypatch.setattr("groundedqa.ingest.build.prepare", choke)
    report = build_tiny(settings, [corpus / "knee.txt"])
    assert [s.reason for s in report.skipped] == ["could not be processed: ValueError: cannot clean this"]
    assert any("kept the indexed version of knee-care" in note for note in report.notes)
    text = open_index(settings.index).store.document("knee-care").text
    assert "Ice can reduce swelling" in text and "chokes" not in text


def test_adding_to_an_unreadable_live_index_is_refused(clinic) -> None:
    corpus, settings = clinic
    live = current_build_id(settings.index)
    (builds_dir(settings.index) / live / "records.sqlite").write_bytes(b"not a database")
    with pytest.raises(IngestError, match="--sync"):
        build_tiny(settings, [corpus / "knee.txt"])
    assert current_build_id(settings.index) == live
    report = build_tiny(settings, [corpus], sync=True)  # the way out the message names
    assert report.changed and len(documents(settings)) == 3


class OtherModel(HashingEncoder):
    def describe(self) -> dict:
        return {"id": "other", "dimension": self.dimension, "fingerprint": "other-v1"}


def test_adding_to_an_index_of_another_model_is_refused(clinic) -> None:
    corpus, settings = clinic
    with pytest.raises(IngestError, match="another model"):
        build_tiny(settings, [corpus / "knee.txt"], encoder=OtherModel())
    assert build_tiny(settings, [corpus], encoder=OtherModel(), sync=True).changed


def test_ingest_of_only_bad_files_changes_nothing(clinic, tmp_path: Path) -> None:
    _, settings = clinic
    live = current_build_id(settings.index)
    bad = tmp_path / "bad.txt"
    bad.write_text("   \n")
    with pytest.raises(IngestError, match="skipped"):
        build_tiny(settings, [bad])
    assert current_build_id(settings.index) == live
