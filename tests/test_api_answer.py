"""POST /v1/answer and the document endpoints over the seed index: shapes and bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(seed_app):
    with TestClient(seed_app) as c:
        yield c


def assert_safety(body: dict) -> None:
    assert body["red_flags"], "every response carries the red flags"
    assert any(f["citation"] for f in body["red_flags"]), "quoted red flags carry citations"
    assert body["disclaimer"].strip()


def test_answer_has_every_documented_field(client):
    body = client.post("/v1/answer", json={"question": "can I deadlift with a pinched nerve?"}).json()
    for field in ("question", "answer", "sentences", "citations", "blocks", "abstained", "urgent",
                  "red_flags", "disclaimer", "index"):
        assert field in body
    assert body["sentences"] and not body["abstained"]
    assert_safety(body)


def test_answer_sentences_are_verbatim_at_their_offsets(client):
    body = client.post("/v1/answer", json={"question": "is swimming ok during decompression therapy"}).json()
    ids = {c["id"]: c for c in body["citations"]}
    for sentence in body["sentences"]:
        for cid in sentence["citations"]:
            cite = ids[cid]
            doc = client.get(f"/v1/documents/{cite['doc_id']}").json()
            assert doc["text"][cite["start"]:cite["end"]] == sentence["text"] == cite["quote"]


def test_blocks_group_the_sentences_by_article_without_interleaving(client):
    body = client.post("/v1/answer", json={"question": "which stretches help a pinched nerve?",
                                           "max_sentences": 8}).json()
    docs = {c["id"]: c["doc_id"] for c in body["citations"]}
    assert [s for b in body["blocks"] for s in b["sentences"]] == body["sentences"]
    assert len({b["doc_id"] for b in body["blocks"]}) == len(body["blocks"])
    for block in body["blocks"]:
        assert {docs[s["citations"][0]] for s in block["sentences"]} == {block["doc_id"]}
        assert block["title"]


def test_answer_string_carries_numbered_markers(client):
    body = client.post("/v1/answer", json={"question": "how do I learn the hip hinge?"}).json()
    for sentence in body["sentences"]:
        assert f"{sentence['text']} [{sentence['citations'][0]}]" in body["answer"]


def test_max_sentences_limits_the_answer(client):
    body = client.post("/v1/answer", json={"question": "which exercises help a pinched nerve?",
                                           "max_sentences": 2}).json()
    assert 1 <= len(body["sentences"]) <= 2


def test_red_flag_citations_point_at_their_quotes(client):
    body = client.post("/v1/answer", json={"question": "is walking good for back pain?"}).json()
    for flag in body["red_flags"]:
        if flag["citation"]:
            doc = client.get(f"/v1/documents/{flag['citation']['doc_id']}").json()
            c = flag["citation"]
            assert doc["text"][c["start"]:c["end"]] == flag["text"]


def test_documents_are_listed_with_metadata(client):
    docs = client.get("/v1/documents").json()
    assert {d["doc_id"] for d in docs} == {
        "s1-radiculopathy-dead-hangs", "pinched-nerve-workout",
        "deadlifting-after-back-pain", "spinal-decompression-working-out",
    }
    by_id = {d["doc_id"]: d for d in docs}
    assert by_id["deadlifting-after-back-pain"]["metadata"]["author"] == "Hannah Sweitzer, DPT, OCS, CSCS"
    assert by_id["pinched-nerve-workout"]["url"] is None


def test_unknown_document_is_404_json_with_red_flags(client):
    response = client.get("/v1/documents/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_document"
    assert_safety(response.json())


def test_healthz_reports_the_loaded_index(client, seed_service):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["index"] == seed_service.build_id


BAD_BODIES = [
    ("empty question", {"json": {"question": ""}}, 422, "invalid_question"),
    ("blank question", {"json": {"question": "   \n\t "}}, 422, "invalid_question"),
    ("missing question", {"json": {}}, 422, "missing_field"),
    ("null question", {"json": {"question": None}}, 422, "invalid_field"),
    ("number question", {"json": {"question": 42}}, 422, "invalid_field"),
    ("list question", {"json": {"question": ["a"]}}, 422, "invalid_field"),
    ("string max_sentences", {"json": {"question": "hi", "max_sentences": "3"}}, 422, "invalid_field"),
    ("zero max_sentences", {"json": {"question": "hi", "max_sentences": 0}}, 422, "invalid_field"),
    ("too long", {"json": {"question": "back pain " * 200}}, 422, "invalid_question"),
    ("control characters", {"json": {"question": "can I lift\x00\x07?"}}, 422, "invalid_question"),
    ("JSON array", {"json": [{"question": "hi"}]}, 422, "invalid_body"),
    ("JSON null", {"content": b"null", "headers": {"content-type": "application/json"}}, 422, "invalid_body"),
    ("not JSON", {"content": b"question=hi", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("truncated JSON", {"content": b'{"question": "hi', "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("not UTF-8", {"content": '{"question": "caf\xe9"}'.encode("latin-1"),
                   "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
]


@pytest.mark.parametrize("name,kwargs,status,code", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_a_clear_4xx_with_red_flags(client, name, kwargs, status, code):
    response = client.post("/v1/answer", **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert_safety(body)


def test_server_keeps_answering_after_bad_input(client):
    for _, kwargs, _, _ in BAD_BODIES:
        client.post("/v1/answer", **kwargs)
    response = client.post("/v1/answer", json={"question": "can I do planks with a pinched nerve?"})
    assert response.status_code == 200 and response.json()["sentences"]


def test_wrong_method_is_json(client):
    response = client.get("/v1/answer")
    assert response.status_code == 405
    assert json.loads(response.text)["error"]["code"] == "method_not_allowed"
