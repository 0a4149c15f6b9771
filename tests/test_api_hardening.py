"""The API as a hostile client probes it: no 5xx in plain text, no key or limit dodged, no
third-party script, no stalled connection held open (issue 12, findings 1, 2, 5, 6, 12, 13)."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.api.server import server_config
from groundedqa.cli import main
from groundedqa.service import Service
from groundedqa.settings import Settings
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, build_tiny, running_server, tiny_settings, write_corpus
from tests.test_api_protection import ORIGIN, assert_error, ask, make_app

KEY = {"X-API-Key": "widget-key"}
ERROR_LOGGER = "groundedqa.errors"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Settings, Service]:
    """A two-article index on the fake encoder, and its Service."""
    root = tmp_path_factory.mktemp("tiny")
    write_corpus(root, knee=KNEE, back=BACK)
    settings = tiny_settings(root, cors_origins=[ORIGIN])
    encoder = HashingEncoder()
    build_tiny(settings, encoder=encoder)
    return settings, Service.load(settings, encoder=encoder)


@pytest.fixture
def client(tiny) -> TestClient:
    settings, service = tiny
    return TestClient(create_app(settings, service))


def assert_safe_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The real app's error body: JSON, the error, the red flags and the disclaimer."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert body["error"]["message"] and body["red_flags"] and body["disclaimer"].strip()
    return body


# ------------------------------------------------------------------------------------------------
# finding 1: lone surrogate; every unexpected error is the service's JSON 500
# ------------------------------------------------------------------------------------------------

def test_lone_surrogate_in_the_question_is_a_clear_422(client: TestClient) -> None:
    response = client.post("/v1/answer", content=b'{"question": "\\ud800 back pain"}',
                           headers={"content-type": "application/json", "Origin": ORIGIN})
    body = assert_safe_error(response, 422, "invalid_question")
    assert "surrogate" in body["error"]["message"]
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_server_answers_normally_after_a_surrogate(client: TestClient) -> None:
    client.post("/v1/answer", content=b'{"question": "\\udfff"}',
                headers={"content-type": "application/json"})
    assert client.post("/v1/answer", json={"question": "does walking help back pain?"}).status_code == 200


@pytest.fixture
def failing_client(tiny, monkeypatch) -> TestClient:
    settings, service = tiny

    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom: patient text must not reach the log")

    monkeypatch.setattr(service, "answer", explode)
    return TestClient(create_app(settings, service))


def test_unexpected_error_is_json_500_with_red_flags_request_id_and_cors(failing_client) -> None:
    response = failing_client.post("/v1/answer", json={"question": "back pain"},
                                   headers={"Origin": ORIGIN})
    body = assert_safe_error(response, 500, "internal_error")
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unexpected_error_is_logged_as_one_line_with_traceback_only_at_debug(
        failing_client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger=ERROR_LOGGER):
        response = failing_client.post("/v1/answer", json={"question": "back pain"})
    [record] = [r for r in caplog.records if r.name == ERROR_LOGGER]
    line = json.loads(record.getMessage())
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["error"] == "RuntimeError" and "test_api_hardening.py" in line["where"]
    assert "boom" not in caplog.text and "Traceback" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=ERROR_LOGGER):
        failing_client.post("/v1/answer", json={"question": "back pain"})
    assert any(r.exc_info for r in caplog.records if r.name == ERROR_LOGGER)


# ------------------------------------------------------------------------------------------------
# finding 2: the limit is per client (key and address); failed keys are throttled too
# ------------------------------------------------------------------------------------------------

def test_one_client_using_up_a_shared_key_leaves_other_clients_answered() -> None:
    app = make_app(rate_limit="2/minute", api_keys=["widget-key"])
    first = TestClient(app, client=("203.0.113.1", 5000))
    second = TestClient(app, client=("203.0.113.2", 5000))
    assert [ask(first, headers=KEY).status_code for _ in range(3)] == [200, 200, 429]
    assert ask(second, headers=KEY).status_code == 200


def test_wrong_keys_are_throttled_even_when_each_is_new() -> None:
    client = TestClient(make_app(rate_limit="3/minute", api_keys=["widget-key"]))
    codes = [ask(client, headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    assert_error(ask(client, headers={"X-API-Key": "guess-4"}), 429, "rate_limited")
    # Guessing on another path counts in the same bucket.
    assert client.get("/v1/documents/x", headers={"X-API-Key": "guess-5"}).status_code == 429
    assert client.get("/v1/documents/x").status_code == 429
    assert client.app.state.answered == 0


# ------------------------------------------------------------------------------------------------
# finding 6: proxy headers are believed only from the trusted proxies setting (empty by default)
# ------------------------------------------------------------------------------------------------

def forwarded_statuses(settings: Settings, addresses: list[str]) -> list[int]:
    app = make_app(**{k: getattr(settings, k) for k in ("rate_limit", "trusted_proxies")})
    with running_server(server_config(app, settings, log_level="warning")) as (host, port):
        return [httpx.post(f"http://{host}:{port}/v1/answer", json={"question": "q"},
                           headers={"X-Forwarded-For": address}).status_code
                for address in addresses]


def test_forwarded_for_from_loopback_does_not_dodge_the_limit_by_default() -> None:
    settings = Settings(rate_limit="2/minute")
    assert settings.trusted_proxies == []
    statuses = forwarded_statuses(settings, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    assert statuses == [200, 200, 429]


def test_forwarded_for_from_a_trusted_proxy_names_the_client() -> None:
    settings = Settings(rate_limit="2/minute", trusted_proxies=["127.0.0.1"])
    statuses = forwarded_statuses(settings, ["198.51.100.1", "198.51.100.1", "198.51.100.1",
                                             "198.51.100.2"])
    assert statuses == [200, 200, 429, 200]


# ------------------------------------------------------------------------------------------------
# finding 12: an empty key is never a key
# ------------------------------------------------------------------------------------------------

def test_empty_api_key_setting_is_refused_in_one_line(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("GROUNDEDQA_API_KEYS", '[""]')
    code = main(["ask", "can I lift?", "--index", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "GROUNDEDQA_API_KEYS" in err and "\n" not in err


def test_empty_key_header_is_refused_even_if_an_empty_key_slipped_into_settings() -> None:
    app = make_app(api_keys=["real-key"])
    # Settings built without validation (as a caller constructing them by hand might).
    loose = Settings.model_construct(**{**Settings(rate_limit=None).model_dump(), "api_keys": [""]})
    from groundedqa.api.protection import install_protection
    from fastapi import FastAPI

    bare = FastAPI()
    bare.state.error_body = app.state.error_body
    install_protection(bare, loose)

    @bare.post("/v1/answer")
    def answer() -> dict[str, str]:
        return {"answer": "should not be reached"}

    response = TestClient(bare).post("/v1/answer", json={"question": "q"},
                                     headers={"X-API-Key": ""})
    assert_error(response, 401, "unauthorized")


# ------------------------------------------------------------------------------------------------
# finding 13: docs without a CDN, nosniff, no Host-reflecting redirect, JSON preflight, HEAD
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_this_server(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assets = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html.text)
    assert assets, html.text
    assert not re.search(r"https?://|//[a-z]", html.text.replace("http://www.w3.org", ""))
    for asset in assets:
        assert asset.startswith("/") and client.get(asset).status_code == 200, asset


@pytest.mark.parametrize("method,path", [("GET", "/healthz"), ("POST", "/v1/answer"),
                                         ("GET", "/v1/documents/nope"), ("GET", "/nowhere")])
def test_every_json_response_is_nosniff(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"question": "back pain"} if method == "POST" else None)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_trailing_slash_is_not_redirected_to_the_host_header(client: TestClient) -> None:
    response = client.get("/v1/documents/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert "location" not in response.headers
    assert_safe_error(response, 404, "not_found")


def test_disallowed_preflight_is_json_with_red_flags(client: TestClient) -> None:
    response = client.options("/v1/answer", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    body = assert_safe_error(response, 400, "cors_rejected")
    assert "origin" in body["error"]["message"]


def test_head_healthz_is_200(client: TestClient) -> None:
    assert client.head("/healthz").status_code == 200


# ------------------------------------------------------------------------------------------------
# finding 5: stalled connections are closed
# ------------------------------------------------------------------------------------------------

TIMEOUT = 0.5  # the configured allowance; sockets wait up to 10x that before calling it a hang


@pytest.fixture(scope="module")
def guarded_server():
    timeouts = {"header_timeout_seconds": TIMEOUT, "body_timeout_seconds": TIMEOUT}
    settings = Settings(rate_limit=None, **timeouts)
    app = make_app(**timeouts)
    with running_server(server_config(app, settings, log_level="warning")) as address:
        yield address


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; raises socket.timeout if it never does."""
    sock.settimeout(TIMEOUT * 10)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_connection_that_sends_nothing_is_closed(guarded_server) -> None:
    with socket.create_connection(guarded_server) as sock:
        assert read_until_closed(sock) == b""


def test_connection_with_unfinished_headers_is_closed(guarded_server) -> None:
    with socket.create_connection(guarded_server) as sock:
        sock.sendall(b"POST /v1/answer HTTP/1.1\r\nHost: x\r\nContent-Type: applic")
        assert read_until_closed(sock) == b""


def test_stalled_body_gets_a_408_json_and_the_connection_closes(guarded_server) -> None:
    with socket.create_connection(guarded_server) as sock:
        sock.sendall(b"POST /v1/answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"question\": ")
        reply = read_until_closed(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_idle_keep_alive_connection_is_closed_after_a_response(guarded_server) -> None:
    with socket.create_connection(guarded_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.05)
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 200")


def test_server_config_applies_the_timeout_settings() -> None:
    settings = Settings(keep_alive_seconds=7, header_timeout_seconds=3)
    config = server_config(make_app(), settings)
    assert config.timeout_keep_alive == 7 and config.http.request_timeout == 3
    assert config.proxy_headers is False
