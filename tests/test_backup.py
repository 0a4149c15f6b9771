"""`groundedqa backup` / `restore-backup`: restored into an empty folder, the same 20 questions
get identical responses; the clinic's records and withdrawals come along; damage is refused."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.backup import backup
from groundedqa.cli import main
from groundedqa.index.withdrawals import read_withdrawals, withdraw
from groundedqa.service import Service
from groundedqa.settings import Settings
from groundedqa.state import StateStore
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, REDFLAGS, SHOULDER, build_tiny, write_corpus

ANKLE = """Ankle Sprain Recovery

Elevating a sprained ankle above the heart reduces bruising. Balance boards retrain ankle
stability after a sprain heals. Most mild sprains settle within two to six weeks.
"""
HIP = """Hip Pain When Sitting

Sitting for hours can stiffen the hip flexors. Standing up every half hour eases hip pain.
A cushion that tilts the pelvis forward can help at a desk.
"""
QUESTIONS = [
    "does ice help a sore knee?", "how long should I rest my knee after a run?",
    "my knee locks sometimes, what should I do?", "does walking help lower back pain?",
    "can heat ease a stiff back?", "how do I stretch a stiff shoulder?",
    "which stretches are safe for my shoulder?", "what if a stretch causes sharp pain?",
    "how do I reduce bruising on a sprained ankle?", "how long does a mild sprain take to heal?",
    "do balance boards help after a sprain?", "why does my hip hurt when I sit?",
    "how often should I stand up at my desk?", "will a cushion help my hip?",
    "what is the capital of France?", "can I deadlift with a pinched nerve?",
    "I have numbness in my groin and cannot pee", "is swimming good for knees?",
    "should I elevate my ankle?", "how do I look after my back at work?",
]


def settings_in(root: Path, **overrides) -> Settings:
    values = {"index": root / "var" / "index", "corpus": root / "corpus", "rate_limit": None,
              "redflags": root / "config" / "redflags.toml", "abstain_below": 0.3}
    return Settings(**{**values, **overrides})


def use(settings: Settings, monkeypatch) -> list[str]:
    """Point the CLI at `settings` the way an operator does: environment variables."""
    monkeypatch.setenv("GROUNDEDQA_CORPUS", str(settings.corpus))
    monkeypatch.setenv("GROUNDEDQA_REDFLAGS", str(settings.redflags))
    return ["--index", str(settings.index)]


def responses(settings: Settings) -> list[bytes]:
    app = create_app(settings, Service.load(settings, encoder=HashingEncoder()))
    bodies = []
    with TestClient(app) as client:
        for question in QUESTIONS:
            response = client.post("/v1/answer", json={"question": question})
            assert response.status_code == 200
            bodies.append(response.content.replace(response.json()["answer_id"].encode(), b"<id>"))
        client.post("/v1/feedback", json={"answer_id": response.json()["answer_id"], "helpful": True})
        app.state.answer_records.flush()
    app.state.admin_worker.stop()
    return bodies


@pytest.fixture
def original(tmp_path) -> Settings:
    root = tmp_path / "clinic"
    settings = settings_in(root)
    settings.redflags.parent.mkdir(parents=True)
    settings.redflags.write_text(REDFLAGS.read_text())
    write_corpus(root, knee=KNEE, back=BACK, shoulder=SHOULDER, ankle=ANKLE, hip=HIP)
    (settings.corpus / "manifest.toml").write_text('[[documents]]\nfile = "hip.txt"\ndoc_id = "hip"\ntitle = "Hip pain when sitting"\n')
    build_tiny(settings)
    withdraw(settings.index, "shoulder", "under review", "tester")
    return settings


def test_backup_restored_into_an_empty_folder_answers_the_same(original, tmp_path, monkeypatch,
                                                               capsys) -> None:
    before = responses(original)
    answered = sum(b'"abstained":false' in body for body in before)
    assert 8 <= answered < len(QUESTIONS), answered  # answers and abstentions both compared
    assert main(["backup", str(tmp_path / "clinic.tar.gz"), *use(original, monkeypatch)]) == 0
    archive = tmp_path / "clinic.tar.gz"
    digest, name = (tmp_path / "clinic.tar.gz.sha256").read_text().split()
    assert name == archive.name and digest == hashlib.sha256(archive.read_bytes()).hexdigest()

    fresh = settings_in(tmp_path / "elsewhere")
    assert main(["restore-backup", str(archive), *use(fresh, monkeypatch)]) == 0
    out = capsys.readouterr().out
    assert "backup written" in out and "restored build" in out
    state = StateStore.open(fresh)
    assert len(state.feedback.export()) == 1  # recorded by the original before the backup
    state.close()
    assert responses(fresh) == before
    assert sorted(p.name for p in fresh.corpus.iterdir()) == sorted(
        p.name for p in original.corpus.iterdir())
    assert fresh.redflags.read_text() == original.redflags.read_text()
    assert set(read_withdrawals(fresh.index)) == {"shoulder"}


def test_restore_refuses_a_damaged_archive_and_touches_nothing(original, tmp_path, monkeypatch,
                                                               capsys) -> None:
    report = backup(original, tmp_path)
    data = bytearray(report.archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    report.archive.write_bytes(bytes(data))
    fresh = settings_in(tmp_path / "elsewhere")
    assert main(["restore-backup", str(report.archive), *use(fresh, monkeypatch)]) == 2
    assert "does not match" in capsys.readouterr().err
    assert not fresh.index.exists() and not fresh.corpus.exists()


def test_restore_refuses_a_folder_that_is_not_empty(original, tmp_path, monkeypatch, capsys) -> None:
    report = backup(original, tmp_path)
    assert main(["restore-backup", str(report.archive), *use(original, monkeypatch)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_a_build_damaged_before_the_backup_is_refused_at_restore(original, tmp_path, monkeypatch,
                                                                 capsys) -> None:
    build = next((original.index / "builds").iterdir())
    target = build / "passages.npy"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    report = backup(original, tmp_path)
    fresh = settings_in(tmp_path / "elsewhere")
    assert main(["restore-backup", str(report.archive), *use(fresh, monkeypatch)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert not fresh.index.exists()


def test_a_database_other_than_sqlite_is_left_to_its_own_tools(original, tmp_path) -> None:
    url = "postgresql+psycopg://clinic:s3cret@db.internal/groundedqa"
    report = backup(settings_in(original.index.parent.parent, state_url=url), tmp_path)
    assert not report.state_included
    assert any("pg_dump" in note for note in report.notes)
    assert "s3cret" not in " ".join(report.notes)
    with tarfile.open(report.archive) as tar:
        names = tar.getnames()
    assert not any(n.endswith("state.sqlite") for n in names)
    assert "s3cret".encode() not in report.archive.read_bytes()
