"""`groundedqa index list` and `index rollback`: a wrong build rolled back serves the previous
answers byte for byte; a build that fails validation is refused as a target."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.cli import main
from groundedqa.index.builds import builds_dir, current_build_id, list_builds
from groundedqa.service import Service
from groundedqa.state import StateStore
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, SHOULDER, build_tiny, tiny_settings, write_corpus

QUESTIONS = ["does ice help a sore knee?", "does walking help lower back pain?",
             "how do I stretch a stiff shoulder?", "when should I call about my knee?"]
#: An article that answers the knee questions wrongly, and better matches their words.
WRONG = """Sore Knee Ice Swelling

Ice never helps a sore knee and swelling in a sore knee needs heat. Call your clinician about a
sore knee only after two weeks.
"""


def answers(client: TestClient) -> list[bytes]:
    """The response bodies, byte for byte, but for the per-answer id."""
    out = []
    for question in QUESTIONS:
        response = client.post("/v1/answer", json={"question": question})
        assert response.status_code == 200
        out.append(response.content.replace(response.json()["answer_id"].encode(), b"<id>"))
    return out


@pytest.fixture
def clinic(tmp_path, monkeypatch):
    write_corpus(tmp_path, knee=KNEE, back=BACK, shoulder=SHOULDER)
    settings = tiny_settings(tmp_path, reload_check_seconds=3600)
    good = build_tiny(settings).build_id
    client = TestClient(create_app(settings, Service.load(settings, encoder=HashingEncoder())))
    monkeypatch.chdir(tmp_path)  # the CLI's default corpus and state store are the clinic's
    yield settings, client, good
    client.app.state.admin_worker.stop()


def test_rollback_serves_the_previous_answers_byte_for_byte(clinic, capsys) -> None:
    settings, client, good = clinic
    before = answers(client)
    write_corpus(settings.index.parent, knee=KNEE, back=BACK, shoulder=SHOULDER, wrong=WRONG)
    wrong = build_tiny(settings).build_id
    during = answers(client)
    assert any(b'"doc_id":"wrong"' in body for body in during), "the wrong build changed nothing"
    assert main(["index", "rollback", "--index", str(settings.index)]) == 0
    assert current_build_id(settings.index) == good
    assert answers(client) == before
    out = capsys.readouterr().out
    assert f"rolled back: {good} is live (was {wrong})" in out
    # The rolled-back build's document versions are the live ones again.
    state = StateStore.open(settings)
    live = {v.doc_id for v in state.versions.history() if v.retired_at is None}
    state.close()
    assert live == {"knee", "back", "shoulder"}


def test_a_corrupted_build_is_refused_as_rollback_target(clinic, capsys) -> None:
    settings, client, good = clinic
    write_corpus(settings.index.parent, knee=KNEE, back=BACK, shoulder=SHOULDER, wrong=WRONG)
    wrong = build_tiny(settings).build_id
    target = builds_dir(settings.index) / good / "passages.npy"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    assert main(["index", "rollback", good, "--index", str(settings.index)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("groundedqa: error:") and "\n" not in err
    assert f"build {good} cannot be served, so CURRENT still names {wrong}" in err
    assert "passages.npy changed since it was written (checksum mismatch)" in err
    assert current_build_id(settings.index) == wrong


def test_rollback_refuses_an_unknown_build_and_an_index_with_no_earlier_build(tmp_path, capsys) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path)
    build_tiny(settings)
    assert main(["index", "rollback", "--index", str(settings.index)]) == 2
    assert "no earlier published build is kept" in capsys.readouterr().err
    assert main(["index", "rollback", "../../etc", "--index", str(settings.index)]) == 2
    assert "no build '../../etc'" in capsys.readouterr().err


def test_index_list_shows_every_build_and_which_is_live(clinic, capsys) -> None:
    settings, client, good = clinic
    write_corpus(settings.index.parent, knee=KNEE, back=BACK, shoulder=SHOULDER, wrong=WRONG)
    wrong = build_tiny(settings).build_id
    rows = {b.build_id: b for b in list_builds(settings.index)}
    assert set(rows) == {good, wrong}
    assert rows[wrong].live and not rows[good].live and rows[good].published
    assert (rows[good].documents, rows[wrong].documents) == (3, 4)
    assert rows[good].leased  # the server still holds it: no request came since the publish
    assert rows[wrong].size_bytes > 0 and rows[wrong].problem is None
    assert main(["index", "list", "--index", str(settings.index)]) == 0
    out = capsys.readouterr().out
    assert good in out and wrong in out and "LIVE" in out and "published" in out
