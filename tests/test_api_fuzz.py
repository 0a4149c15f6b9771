"""Property: whatever a client sends to /v1/answer or /v1/documents/{id}, the answer is a 200 or
a 4xx JSON error with the red flags and the disclaimer, never a 5xx (issue 12).

Hypothesis generates bodies (any JSON value, question objects with any Unicode including lone
surrogates, raw bytes) and document ids (any text, percent-encoded as sent). The app runs in
process over a tiny index on the fake encoder; examples are derandomised so CI is repeatable.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundedqa.api.app import create_app
from groundedqa.service import Service
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, build_tiny, tiny_settings, write_corpus

EXAMPLES = 200
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Every code point, surrogates included (Hypothesis leaves them out by default).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=60)
JSON_LEAF = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
             | ANY_TEXT)
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)
QUESTION_OBJECT = st.builds(
    lambda extra, fields: {**extra, **fields},
    st.dictionaries(ANY_TEXT, JSON_VALUE, max_size=3),
    st.fixed_dictionaries(
        {"question": ANY_TEXT | st.text(st.sampled_from("back pain knee ice \ud800\u0000\n?"),
                                        max_size=80) | JSON_VALUE},
        optional={"max_sentences": st.integers(-5, 30) | JSON_VALUE, "history": JSON_VALUE},
    ),
)


def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON as a client might send it: escaped (surrogates as \\ud800) or raw UTF-8 (lone
    surrogates then as the bytes Python's surrogatepass gives, which are not UTF-8)."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


ANSWER_BODIES = st.one_of(
    st.builds(encode, QUESTION_OBJECT, st.booleans()),
    st.builds(encode, JSON_VALUE, st.booleans()),
    st.binary(max_size=200),
)
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "application/json; charset=latin-1", ""])


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    root = tmp_path_factory.mktemp("fuzz")
    write_corpus(root, knee=KNEE, back=BACK)
    app_settings = tiny_settings(root)
    encoder = HashingEncoder()
    build_tiny(app_settings, encoder=encoder)
    app = create_app(app_settings, Service.load(app_settings, encoder=encoder))
    # A 5xx must show up as a status here, not as an exception raised into the test.
    return TestClient(app, raise_server_exceptions=False)


def assert_200_or_4xx_json(response: httpx.Response) -> None:
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text[:500]
    body = response.json()
    assert body["red_flags"] and body["disclaimer"]
    if response.status_code != 200:
        assert body["error"]["status"] == response.status_code and body["error"]["message"]


@FUZZ
@given(body=ANSWER_BODIES, content_type=CONTENT_TYPES)
def test_answer_is_200_or_4xx_json_whatever_is_posted(client, body: bytes, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/answer", content=body, headers=headers)
    assert_200_or_4xx_json(response)
    if response.status_code == 200:
        assert response.json()["answer"] is not None


@FUZZ
@given(doc_id=ANY_TEXT.filter(lambda s: s not in ("", ".", "..")))
def test_document_is_200_or_4xx_json_whatever_id_is_asked(client, doc_id: str) -> None:
    path = "/v1/documents/" + quote(doc_id, safe="", errors="surrogatepass")
    assert_200_or_4xx_json(client.get(path))


def test_known_document_is_200(client) -> None:
    assert client.get("/v1/documents/knee").status_code == 200
