"""Protection of the patient-facing API: keys, CORS, rate limit, body size, metrics, access log.

Most tests use a small stand-in app with canned answers (fast, no index); the last ones check the
same protection inside the real `create_app`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from groundedqa.api.protection import ACCESS_LOGGER, install_protection
from groundedqa.api.widget import install_widget
from groundedqa.settings import Settings

RED_FLAG = {"text": "Loss of bladder or bowel control: seek emergency care.", "citation": None}
DISCLAIMER = "General information, not medical advice."
SECRET_QUESTION = "my secret symptom question about deadlifts"
ORIGIN = "https://clinic.example"


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message},
            "red_flags": [RED_FLAG], "disclaimer": DISCLAIMER}


def make_app(**overrides: Any) -> FastAPI:
    """A stand-in for create_app: protection + widget around canned endpoints."""
    settings = Settings(**{"rate_limit": None, "cors_origins": [ORIGIN], **overrides})
    app = FastAPI()
    app.state.error_body = error_body
    app.state.answered = 0  # how often the endpoint really ran
    install_protection(app, settings)
    install_widget(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/answer")
    def answer(body: dict[str, Any], request: Request) -> dict[str, Any]:
        app.state.answered += 1
        question = body["question"]
        abstained, urgent = "france" in question.lower(), "bladder" in question.lower()
        text = "" if abstained else "Deadlifts can be resumed gradually."
        request.app.state.record_answer(request, abstained, urgent, question, text)
        return {"question": question, "answer": text, "abstained": abstained, "urgent": urgent}

    @app.get("/v1/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, str]:
        return {"doc_id": doc_id}

    return app


def ask(client: TestClient, question: str = SECRET_QUESTION, **kwargs: Any):
    return client.post("/v1/answer", json={"question": question}, **kwargs)


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    """Every rejection is JSON with the error, the red flags and the disclaimer."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["red_flags"] == [RED_FLAG] and body["disclaimer"] == DISCLAIMER
    return body


# ------------------------------------------------------------------------------------------------
# API keys
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def keyed() -> TestClient:
    return TestClient(make_app(api_keys=["key-one", "key-two"]))


def test_missing_or_wrong_key_is_401_json(keyed: TestClient) -> None:
    assert_error(ask(keyed), 401, "unauthorized")
    assert_error(ask(keyed, headers={"X-API-Key": "key-on"}), 401, "unauthorized")
    assert_error(keyed.get("/v1/documents/x"), 401, "unauthorized")
    assert keyed.app.state.answered == 0


def test_any_configured_key_is_accepted(keyed: TestClient) -> None:
    assert ask(keyed, headers={"X-API-Key": "key-one"}).status_code == 200
    assert ask(keyed, headers={"X-API-Key": "key-two"}).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/", "/widget.js", "/docs",
                                  "/openapi.json"])
def test_open_paths_need_no_key(keyed: TestClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_no_keys_configured_means_open() -> None:
    assert ask(TestClient(make_app())).status_code == 200


# ------------------------------------------------------------------------------------------------
# CORS
# ------------------------------------------------------------------------------------------------

def test_cors_allows_only_configured_origins(keyed: TestClient) -> None:
    key = {"X-API-Key": "key-one"}
    allowed = ask(keyed, headers={**key, "Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    other = ask(keyed, headers={**key, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_preflight_needs_no_key(keyed: TestClient) -> None:
    response = keyed.options("/v1/answer", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "x-api-key" in response.headers["access-control-allow-headers"].lower()
    assert "POST" in response.headers["access-control-allow-methods"]


def test_rejections_carry_cors_headers_so_the_widget_can_read_them(keyed: TestClient) -> None:
    response = ask(keyed, headers={"Origin": ORIGIN})
    assert_error(response, 401, "unauthorized")
    assert response.headers["access-control-allow-origin"] == ORIGIN


# ------------------------------------------------------------------------------------------------
# rate limit
# ------------------------------------------------------------------------------------------------

def test_rate_limit_is_429_json_with_retry_after() -> None:
    client = TestClient(make_app(rate_limit="3/minute"))
    assert [ask(client).status_code for _ in range(3)] == [200, 200, 200]
    limited = ask(client)
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.app.state.answered == 3
    # Only answering is limited.
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/documents/a").status_code == 200


def test_rate_limit_is_per_api_key_when_keys_are_set() -> None:
    client = TestClient(make_app(rate_limit="2/minute", api_keys=["site-a", "site-b"]))
    for _ in range(2):
        assert ask(client, headers={"X-API-Key": "site-a"}).status_code == 200
    assert ask(client, headers={"X-API-Key": "site-a"}).status_code == 429
    assert ask(client, headers={"X-API-Key": "site-b"}).status_code == 200


def test_made_up_keys_do_not_dodge_the_limit_when_keys_are_off() -> None:
    client = TestClient(make_app(rate_limit="2/minute"))
    codes = [ask(client, headers={"X-API-Key": f"k{i}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]


def test_empty_rate_limit_turns_it_off() -> None:
    client = TestClient(make_app(rate_limit=""))
    assert {ask(client).status_code for _ in range(70)} == {200}


# ------------------------------------------------------------------------------------------------
# body size
# ------------------------------------------------------------------------------------------------

def test_large_body_is_413_json_before_parsing() -> None:
    client = TestClient(make_app(max_body_bytes=1024))
    assert_error(ask(client, "x" * 2000), 413, "body_too_large")
    assert ask(client, "x" * 500).status_code == 200
    assert client.app.state.answered == 1


def test_large_chunked_body_is_413_json() -> None:
    client = TestClient(make_app(max_body_bytes=1024))

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'"}'

    response = client.post("/v1/answer", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # really sent chunked
    assert_error(response, 413, "body_too_large")
    assert client.app.state.answered == 0


def test_small_chunked_body_reaches_the_endpoint() -> None:
    client = TestClient(make_app(max_body_bytes=1024))
    parts = [b'{"question": ', b'"how soon can I lift?"}']
    response = client.post("/v1/answer", content=iter(parts),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["question"] == "how soon can I lift?"


# ------------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------------

def test_metrics_count_requests_latency_abstentions_and_urgent() -> None:
    client = TestClient(make_app(api_keys=["k"]))
    key = {"X-API-Key": "k"}
    ask(client, headers=key)
    ask(client, "what is the capital of France?", headers=key)
    ask(client, "I can't control my bladder", headers=key)
    ask(client)  # 401
    client.get("/v1/documents/abc", headers=key)
    client.get("/no/such/page")
    text = client.get("/metrics").text
    assert 'groundedqa_requests_total{path="/v1/answer",status="200"} 3.0' in text
    assert 'groundedqa_requests_total{path="/v1/answer",status="401"} 1.0' in text
    # Templates, not raw paths, keep label cardinality bounded.
    assert 'groundedqa_requests_total{path="/v1/documents/{doc_id}",status="200"} 1.0' in text
    assert 'groundedqa_requests_total{path="<unmatched>",status="404"} 1.0' in text
    assert 'groundedqa_request_latency_seconds_count{path="/v1/answer"} 4.0' in text
    assert "groundedqa_request_latency_seconds_bucket{" in text
    assert "groundedqa_abstentions_total 1.0" in text
    assert "groundedqa_urgent_total 1.0" in text


def test_each_app_has_its_own_registry() -> None:
    first, second = TestClient(make_app()), TestClient(make_app())
    ask(first)
    assert 'status="200"} 1.0' in first.get("/metrics").text
    assert 'path="/v1/answer"' not in second.get("/metrics").text


# ------------------------------------------------------------------------------------------------
# access log
# ------------------------------------------------------------------------------------------------

def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]


def test_access_log_is_json_without_patient_text(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(make_app())
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        response = ask(client, "my bladder question " + SECRET_QUESTION)
    assert SECRET_QUESTION not in caplog.text and "Deadlifts" not in caplog.text
    [line] = access_lines(caplog)
    assert line["request_id"] == response.headers["x-request-id"]
    assert len(line["request_id"]) == 32
    assert line["method"] == "POST" and line["path"] == "/v1/answer"
    assert line["status"] == 200 and line["latency_ms"] >= 0
    assert line["abstained"] is False and line["urgent"] is True
    assert "question" not in line and "answer" not in line


def test_access_log_has_text_only_when_opted_in(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(make_app(log_text=True))
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        ask(client)
    [line] = access_lines(caplog)
    assert line["question"] == SECRET_QUESTION
    assert line["answer"] == "Deadlifts can be resumed gradually."


def test_rejections_are_logged_with_their_status(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(make_app(api_keys=["k"]))
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        ask(client)
    [line] = access_lines(caplog)
    assert line["status"] == 401 and line["abstained"] is None
    assert SECRET_QUESTION not in caplog.text


def test_a_bad_rate_limit_setting_is_a_clear_error() -> None:
    from groundedqa.errors import CliError

    with pytest.raises(CliError, match="60/minute"):
        make_app(rate_limit="sixty a minute")


# ------------------------------------------------------------------------------------------------
# inside the real app
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def real_app_client(tmp_path) -> TestClient:
    """The real create_app over an empty index folder: no model loads, answers are 503."""
    from groundedqa.api.app import create_app

    settings = Settings(index=tmp_path / "index", api_keys=["real-key"], rate_limit="2/minute",
                        max_body_bytes=512, cors_origins=[ORIGIN])
    return TestClient(create_app(settings))


def test_real_app_rejects_with_its_error_body(real_app_client: TestClient) -> None:
    body = real_app_client.post("/v1/answer", json={"question": "q"}).json()
    assert body["error"]["code"] == "unauthorized" and "disclaimer" in body and "red_flags" in body
    big = real_app_client.post("/v1/answer", content=b"x" * 600,
                               headers={"X-API-Key": "real-key"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    # Past every check, the endpoint runs: 503 here, as there is no index. (The 413 above
    # counted against the limit: the limit runs before the body is read.)
    first = real_app_client.post("/v1/answer", json={"question": "q"},
                                 headers={"X-API-Key": "real-key"})
    assert first.status_code == 503
    second = real_app_client.post("/v1/answer", json={"question": "q"},
                                  headers={"X-API-Key": "real-key"})
    assert second.status_code == 429 and "retry-after" in second.headers


def test_real_app_serves_widget_and_metrics(real_app_client: TestClient) -> None:
    page = real_app_client.get("/")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = real_app_client.get("/widget.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert "groundedqa_requests_total" in real_app_client.get("/metrics").text
