"""Feedback: POST /v1/feedback on an answer_id, stored with what the answer cited, exported by
`groundedqa report feedback`."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from groundedqa.cli import main
from groundedqa.state.tables import answers
from tests.clinic_helpers import make_clinic

QUESTION = ("can ice reduce swelling of a sore knee after a long run? jo@example.org "
            "555-867-5309")


@pytest.fixture
def clinic(tmp_path, monkeypatch):
    clinic = make_clinic(tmp_path)
    # The CLI reads the same clinic from the environment.
    monkeypatch.setenv("GROUNDEDQA_INDEX", str(clinic.settings.index))
    monkeypatch.setenv("GROUNDEDQA_CORPUS", str(clinic.settings.corpus))
    yield clinic
    clinic.app.state.admin_worker.stop()


def ask(client, question: str = QUESTION) -> dict:
    body = client.post("/v1/answer", json={"question": question}).json()
    assert not body["abstained"], body
    return body


def test_every_answer_has_a_distinct_uuid_answer_id(clinic):
    with TestClient(clinic.app) as client:
        ids = {ask(client)["answer_id"] for _ in range(3)}
    assert len(ids) == 3 and all(uuid.UUID(i) for i in ids)


def test_feedback_is_stored_with_citations_and_exported_as_csv(clinic, capsys):
    with TestClient(clinic.app) as client:
        answer = ask(client)
        response = client.post("/v1/feedback", json={
            "answer_id": answer["answer_id"], "helpful": False,
            "comment": "=HYPERLINK(\"x\") not about my knee, email jo@example.org"})
        assert response.status_code == 201 and response.json()["helpful"] is False
    assert main(["report", "feedback", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1
    row = rows[0]
    assert row["answer_id"] == answer["answer_id"] and row["helpful"] == "False"
    assert row["build"] == answer["index"]
    cited = json.loads(row["citations"])
    assert [(c["doc_id"], c["doc_version"], c["start"], c["end"]) for c in cited] == [
        (c["doc_id"], c["doc_version"], c["start"], c["end"]) for c in answer["citations"]]
    assert row["cited_documents"] == ";".join(sorted({c["doc_id"] for c in answer["citations"]}))
    # Identifiers redacted; a formula is defused; no question text without the opt-in.
    assert "jo@example.org" not in row["comment"] and "[email]" in row["comment"]
    assert row["comment"].startswith("'=")
    assert row["question"] == ""


def test_second_click_replaces_the_first(clinic, tmp_path):
    out = tmp_path / "feedback.json"
    with TestClient(clinic.app) as client:
        answer = ask(client)
        for helpful in (True, False, True):
            client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": helpful})
    assert main(["report", "feedback", "--format", "json", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["answer_id"], r["helpful"]) for r in rows] == [(answer["answer_id"], True)]


def test_question_text_is_stored_redacted_only_when_opted_in(tmp_path, capsys, monkeypatch):
    clinic = make_clinic(tmp_path, store_question_text=True)
    monkeypatch.setenv("GROUNDEDQA_INDEX", str(clinic.settings.index))
    with TestClient(clinic.app) as client:
        answer = ask(client)
        client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": True})
    clinic.app.state.admin_worker.stop()
    assert main(["report", "feedback", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["question"] == "can ice reduce swelling of a sore knee after a long run? [email] [phone]"


def test_without_opt_in_no_answer_record_holds_text(clinic):
    with TestClient(clinic.app) as client:
        ask(client)
    clinic.app.state.answer_records.flush()
    state = clinic.app.state.clinic_state
    with state.engine.connect() as db:
        stored = db.execute(select(answers.c.question, answers.c.citations)).all()
    assert stored and all(question is None for question, _ in stored)
    assert all("quote" not in c for _, citations in stored for c in citations)


def test_feedback_on_unknown_answer_is_404(clinic):
    with TestClient(clinic.app) as client:
        response = client.post("/v1/feedback", json={"answer_id": str(uuid.uuid4()), "helpful": True})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_answer"


@pytest.mark.parametrize("body", [
    {"answer_id": "x"}, {"helpful": True}, {"answer_id": "x", "helpful": "yes"},
    {"answer_id": "x", "helpful": True, "comment": "c" * 2001},
])
def test_malformed_feedback_is_422(clinic, body):
    with TestClient(clinic.app) as client:
        response = client.post("/v1/feedback", json=body)
    assert response.status_code == 422 and response.json()["red_flags"]


def test_a_gap_record_reuses_the_vector_the_answer_computed(clinic):
    with TestClient(clinic.app) as client:
        client.post("/v1/answer", json={"question": "what is the capital of France?"})
        clinic.app.state.answer_records.flush()
    # The question was encoded once, by the answer: the gap record ran no second model call.
    asked = [call for call in clinic.encoder.calls if "what is the capital of France?" in call]
    assert len(asked) == 1
    assert clinic.app.state.clinic_state.gaps.topics()


def test_answer_records_that_queue_together_are_all_stored(clinic):
    records = clinic.app.state.answer_records
    state = clinic.app.state.clinic_state
    batches = []
    write = state.feedback.record_answers
    state.feedback.record_answers = lambda rows: (batches.append(len(rows)), write(rows))
    # Held up by a slow task, every record queued meanwhile is written by one later write.
    records._writer.submit(time.sleep, 0.3)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    for answer_id in ids:
        records.record({"answer_id": answer_id, "index": "b1", "abstained": False, "urgent": False,
                        "confidence": 0.9, "citations": [], "question": "q"}, "q",
                       clinic.encoder)
    records.flush()
    with state.engine.connect() as db:
        stored = set(db.execute(select(answers.c.answer_id)).scalars())
    assert set(ids) <= stored
    assert batches == [5]
