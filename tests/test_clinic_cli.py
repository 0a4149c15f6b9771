"""`groundedqa db upgrade` and `groundedqa admin put|delete|status|list` on this machine's clinic;
the state store's retention rules and redaction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from groundedqa.cli import main
from groundedqa.ingest.build import build_index
from groundedqa.settings import Settings
from groundedqa.state import StateStore
from groundedqa.state.db import current_revision, head_revision, make_engine
from groundedqa.state.redact import redact
from groundedqa.state.tables import document_versions, now
from tests.clinic_helpers import ANKLE, KNEE, REDFLAGS
from tests.fakes import HashingEncoder


@pytest.fixture
def local_clinic(tmp_path, monkeypatch):
    """A corpus and index on disk, named by the environment as `groundedqa` reads it; builds use
    the fake encoder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "knee.md").write_text(KNEE)
    settings = Settings(corpus=corpus, index=tmp_path / "var" / "index", redflags=REDFLAGS)
    encoder = HashingEncoder()
    build_index([corpus], settings.index, settings, embedder=encoder)
    for name, value in (("CORPUS", corpus), ("INDEX", settings.index), ("REDFLAGS", REDFLAGS)):
        monkeypatch.setenv(f"GROUNDEDQA_{name}", str(value))
    for module in ("groundedqa.index.encoders", "groundedqa.ingest.build"):
        monkeypatch.setattr(f"{module}.load_encoder", lambda *a, **k: encoder)
    monkeypatch.setattr("groundedqa.ingest.build.expected_model", lambda *_a, **_k: encoder.describe())
    return settings


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_db_upgrade_creates_the_schema_at_head(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'records' / 'state.sqlite'}"
    monkeypatch.setenv("GROUNDEDQA_STATE_URL", url)
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and head_revision() in out
    assert current_revision(make_engine(url)) == head_revision()
    assert run(capsys, "db", "upgrade")[0] == 0  # idempotent


def test_db_upgrade_with_a_bad_url_is_a_one_line_error(capsys, monkeypatch):
    monkeypatch.setenv("GROUNDEDQA_STATE_URL", "not a url")
    code, _, err = run(capsys, "db", "upgrade")
    assert code == 2 and err.startswith("groundedqa: error:") and err.count("\n") == 1


def test_admin_put_list_delete_round_trip(local_clinic, tmp_path, capsys):
    leaflet = tmp_path / "Ankle Leaflet.md"
    leaflet.write_text(ANKLE)
    code, out, _ = run(capsys, "admin", "put", str(leaflet), "--title", "Ankle Sprains",
                       "--publisher", "Clinic")
    assert code == 0
    put = json.loads(out)
    assert put["doc_id"] == "ankle-leaflet" and len(put["version"]) == 64
    assert (local_clinic.index / "CURRENT").read_text().strip() == put["build"]

    code, out, _ = run(capsys, "admin", "list", "--json")
    docs = {d["doc_id"]: d for d in json.loads(out)}
    assert docs["ankle-leaflet"]["version"] == put["version"]
    assert docs["ankle-leaflet"]["title"] == "Ankle Sprains"
    assert docs["knee"]["live"]

    code, out, _ = run(capsys, "admin", "delete", "ankle-leaflet")
    assert code == 0 and json.loads(out)["build"] != put["build"]
    code, out, _ = run(capsys, "admin", "list", "--json")
    gone = {d["doc_id"]: d for d in json.loads(out)}["ankle-leaflet"]
    assert not gone["live"] and gone["versions"][0]["retired_at"]
    code, out, _ = run(capsys, "admin", "status")
    status = json.loads(out)
    assert status["pending"] == [] and status["building"] is None and status["last_error"] is None
    assert status["live"] == (local_clinic.index / "CURRENT").read_text().strip()


def test_admin_put_of_a_bad_file_is_a_one_line_error_and_changes_nothing(local_clinic, tmp_path,
                                                                        capsys):
    bad = tmp_path / "scan.md"
    bad.write_bytes(b"\x00\x01\x02\x03")
    before = (local_clinic.index / "CURRENT").read_text()
    code, _, err = run(capsys, "admin", "put", str(bad))
    assert code == 2 and "binary" in err and err.count("\n") == 1
    assert not (local_clinic.corpus / "scan.md").exists()
    assert (local_clinic.index / "CURRENT").read_text() == before


def test_ingest_records_versions_so_old_citations_resolve(local_clinic, capsys):
    state = StateStore.open(local_clinic)
    old_hash = state.versions.history("knee")[0].version if state.versions.history("knee") else None
    assert old_hash is None  # the index was built before any state store: nothing recorded
    (local_clinic.corpus / "knee.md").write_text(KNEE.replace("Ice", "Cold packs"))
    assert run(capsys, "ingest", "--quiet")[0] == 0
    versions = state.versions.history("knee")
    assert len(versions) == 2 and versions[0].retired_at and versions[1].retired_at is None
    assert "Ice can reduce" in state.versions.get("knee", versions[0].version).text


def test_retired_versions_expire_after_the_retention_period(tmp_path):
    settings = Settings(index=tmp_path / "index", version_retention_days=30)
    state = StateStore.open(settings)

    class Doc:
        def __init__(self, text: str, version: str) -> None:
            self.doc_id, self.title, self.text, self.content_hash = "knee", "Knee", text, version
            self.metadata, self.references = {}, []

    state.versions.record_published("b1", [Doc("old text", "v1")])
    state.versions.record_published("b2", [Doc("new text", "v2")])
    assert state.versions.get("knee", "v1").text == "old text"
    with state.engine.begin() as db:
        db.execute(update(document_versions).where(document_versions.c.version == "v1")
                   .values(retired_at=now() - timedelta(days=31)))
    assert state.versions.get("knee", "v1") is None
    assert state.versions.get("knee", "v2").live  # a live version never expires


@pytest.mark.parametrize("text,expected", [
    ("email me at jo.doe+x@mail.example.co.uk", "email me at [email]"),
    ("call 555-123-4567 or +44 20 7946 0958", "call [phone] or [phone]"),
    ("seen on 12/03/2024, March 5, 2024 and 5th of March", "seen on [date], [date] and [date]"),
    ("MRN 123456", "MRN [number]"),
    ("may I deadlift 100 kg 3 times a week at L4-L5?", "may I deadlift 100 kg 3 times a week at L4-L5?"),
])
def test_redaction_of_obvious_identifiers(text, expected):
    assert redact(text) == expected
