"""Protection for patients' traffic: CORS, API keys, rate limit, body size, access log, metrics.

`install_protection` wires everything onto an app that already has `app.state.error_body`.
The middleware runs in this order (outermost first)::

    [trusted proxy headers] -> access log + metrics -> CORS -> unhandled errors -> rate limit
        -> API key -> body size and body timeout -> the app

so every response (rejections and unexpected errors included) is counted, logged and carries
`X-Request-ID` and `X-Content-Type-Options: nosniff`; CORS headers reach 401/413/429/500 bodies
(the widget must be able to read their red flags); a CORS preflight is answered before the key
check; failed key attempts count against the rate limit; and no unauthenticated, over-limit or
oversized request gets as far as JSON parsing.

The middleware is plain ASGI rather than `BaseHTTPMiddleware`, which would buffer responses
and break context propagation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import sys
import time
import traceback
import uuid
from pathlib import Path
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from limits import RateLimitItem
from limits import parse as parse_limit
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import ProcessCollector
from prometheus_client import generate_latest
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groundedqa.api.limiter import RateLimiter, check_storage_url
from groundedqa.errors import CliError
from groundedqa.settings import Settings

API_KEY_HEADER = "X-API-Key"
ADMIN_KEY_HEADER = "X-Admin-Key"
REQUEST_ID_HEADER = "X-Request-ID"
#: Paths under this prefix need a key when keys are configured; the page, script, health
#: and metrics stay open (a load balancer and Prometheus carry no key).
PROTECTED_PREFIX = "/v1/"
#: The admin API has its own keys, guard and upload limit (api/admin.py): patient keys and the
#: patient body limit do not apply there.
ADMIN_PREFIX = "/v1/admin/"
#: Only answering is expensive enough to need a per-client limit.
RATE_LIMITED_PATHS = frozenset({"/v1/answer"})
ACCESS_LOGGER = "groundedqa.access"
ERROR_LOGGER = "groundedqa.errors"
#: Metric label for requests that match no route: raw paths would make label cardinality
#: unbounded for anyone probing random URLs.
UNMATCHED_ROUTE = "<unmatched>"

#: Distinct (method, path) route lookups the access log keeps.
ROUTE_LABELS_CACHED = 4096
_RECORD_KEY = "groundedqa_access"  # the per-request AccessRecord in request.state
_MAX_LOGGED_PATH = 200

access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger(ERROR_LOGGER)


# ------------------------------------------------------------------------------------------------
# public entry point
# ------------------------------------------------------------------------------------------------

def install_protection(app: FastAPI, settings: Settings) -> None:
    """Add CORS, key check, rate limit, body limit, JSON access log and `GET /metrics` to `app`.

    Must be called after `app.state.error_body` is set and before the app serves a request.
    Also sets `app.state.record_answer` (see `AnswerRecorder`) and `app.state.metrics`.
    """
    if not callable(getattr(app.state, "error_body", None)):
        raise RuntimeError("install_protection needs app.state.error_body set first")
    metrics = ServiceMetrics.create()
    app.state.metrics = metrics
    app.state.record_answer = AnswerRecorder(metrics, log_text=settings.log_text)
    _ensure_access_log_output()

    keys = ClientKeys(settings.api_keys, settings.admin_keys) if settings.api_keys else None
    limiter = rate_limiter(app, settings)
    # add_middleware puts each new layer outside the previous ones: add innermost first.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       timeout=settings.body_timeout_seconds, exempt_prefix=ADMIN_PREFIX)
    if keys is not None:
        app.add_middleware(ApiKeyMiddleware, keys=keys)
    if settings.rate_limit:
        # Parsed now, not when the first request builds the middleware stack: a bad value
        # should stop the server at start.
        app.add_middleware(RateLimitMiddleware, limit=parse_rate_limit(settings.rate_limit),
                           keys=keys, limiter=limiter)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        JsonCORSMiddleware,
        error_body=app.state.error_body,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", API_KEY_HEADER],
        # Readable by the embedding page: how long to wait, and an id to quote to support.
        expose_headers=["Retry-After", REQUEST_ID_HEADER],
    )
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    if settings.trusted_proxies:
        # Outermost, so the rate limit sees the patient's address a trusted proxy reports.
        # `groundedqa serve` turns uvicorn's own proxy handling off (it believes 127.0.0.1
        # by default): which proxies to believe is this setting alone.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    async def prometheus_metrics() -> Response:
        """Counters and the latency histogram in Prometheus' text format."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", prometheus_metrics, methods=["GET"], include_in_schema=False)


# ------------------------------------------------------------------------------------------------
# metrics and the per-request record
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceMetrics:
    """The app's own Prometheus registry (not the global one, so many apps can coexist)."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    abstentions: Counter
    urgent: Counter

    @classmethod
    def create(cls) -> ServiceMetrics:
        """A fresh registry holding the service's metrics."""
        registry = CollectorRegistry(auto_describe=True)
        # process_resident_memory_bytes and friends: `bench load --url` reads each replica's RSS.
        ProcessCollector(registry=registry)
        return cls(
            registry=registry,
            requests=Counter("groundedqa_requests", "HTTP requests by route and status.",
                             ["path", "status"], registry=registry),
            latency=Histogram("groundedqa_request_latency_seconds",
                              "Time from request to the end of the response, by route.",
                              ["path"], registry=registry),
            abstentions=Counter("groundedqa_abstentions",
                                "Answers that abstained: the articles don't cover the question.",
                                registry=registry),
            urgent=Counter("groundedqa_urgent",
                           "Answers that showed the seek-care banner.", registry=registry),
        )


@dataclass
class AccessRecord:
    """What one request's log line says; the answer endpoint fills the answer fields."""

    request_id: str
    abstained: bool | None = None
    urgent: bool | None = None
    question: str | None = None
    answer: str | None = None


class AnswerRecorder:
    """`app.state.record_answer(request, abstained, urgent, question, answer)`.

    Counts abstentions and urgent answers and puts the flags on the request's log line. The
    texts are kept only when `log_text` is on: patients' questions are health information.
    """

    def __init__(self, metrics: ServiceMetrics, *, log_text: bool) -> None:
        self.metrics = metrics
        self.log_text = log_text

    def __call__(self, request: Request, abstained: bool, urgent: bool,
                 question: str, answer: str) -> None:
        if abstained:
            self.metrics.abstentions.inc()
        if urgent:
            self.metrics.urgent.inc()
        record: AccessRecord | None = getattr(request.state, _RECORD_KEY, None)
        if record is None:  # an app built without AccessLogMiddleware: counters only
            return
        record.abstained, record.urgent = abstained, urgent
        if self.log_text:
            record.question, record.answer = question, answer


# ------------------------------------------------------------------------------------------------
# middleware
# ------------------------------------------------------------------------------------------------

class AccessLogMiddleware:
    """Gives each request an id (`X-Request-ID`), counts and times it, logs one JSON line.

    Also marks every response `X-Content-Type-Options: nosniff`: a JSON body quoting a
    patient's text must never be sniffed into HTML by a browser.
    """

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # The route a method and path match is fixed once the app serves: looked up once, not by
        # trying every route's pattern on every request (bounded: paths hold document ids).
        self._route_label = lru_cache(maxsize=ROUTE_LABELS_CACHED)(self._match_route)

    @staticmethod
    def _match_route(app: Any, method: str, root_path: str, path: str) -> str:
        return _route_label({"type": "http", "app": app, "method": method,
                             "root_path": root_path, "path": path})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = AccessRecord(request_id=uuid.uuid4().hex)
        # request.state is a view of this dict; the record object is shared even if a layer
        # below copies the dict.
        scope.setdefault("state", {})[_RECORD_KEY] = record
        status = 500  # what ServerErrorMiddleware answers if the app raises before responding
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append(REQUEST_ID_HEADER, record.request_id)
                if "x-content-type-options" not in headers:
                    headers.append("X-Content-Type-Options", "nosniff")
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = self._route_label(scope.get("app"), scope["method"],
                                      scope.get("root_path", ""), scope["path"])
            self.metrics.requests.labels(path=route, status=str(status)).inc()
            self.metrics.latency.labels(path=route).observe(elapsed)
            access_log.info(json.dumps(_log_entry(scope, record, status, elapsed),
                                       ensure_ascii=False))


class KeyRing:
    """The configured API keys, compared in constant time."""

    def __init__(self, keys: Sequence[str]) -> None:
        # Settings refuse blank keys; dropping any here as well means an empty header can
        # never match, whatever built the settings.
        self._keys = tuple(key.encode("utf-8") for key in keys if key)

    def valid(self, given: str | None) -> bool:
        """True when `given` (a header value as Starlette decoded it) is one of the keys."""
        if not given:
            return False
        # Starlette decodes header bytes as latin-1; encoding back gives the bytes as sent.
        raw = given.encode("latin-1")
        # Compare against every key, without stopping early, so timing says nothing about
        # which key (or how much of one) matched.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(raw, key)
        return matched


class ClientKeys:
    """The keys the patient routes accept: a patient's `X-API-Key`, or an admin's `X-Admin-Key`
    (the console asks and opens articles as the widget does). Admin routes never take these."""

    def __init__(self, api_keys: Sequence[str], admin_keys: Sequence[str]) -> None:
        self.api = KeyRing(api_keys)
        self.admin = KeyRing(admin_keys)

    def accepted(self, headers: Headers) -> str | None:
        """The key that admits the request (its rate-limit identity), None when none does."""
        given = headers.get(API_KEY_HEADER)
        if self.api.valid(given):
            return given
        admin = headers.get(ADMIN_KEY_HEADER)
        return "admin:" + admin if self.admin.valid(admin) else None


class ApiKeyMiddleware:
    """401 for `/v1/*` without one of the configured `X-API-Key` values (or an admin key)."""

    def __init__(self, app: ASGIApp, *, keys: ClientKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_protected(scope["path"]):
            headers = Headers(scope=scope)
            given = headers.get(API_KEY_HEADER)
            if self.keys.accepted(headers) is None:
                message = (f"a valid {API_KEY_HEADER} header is required" if given is None
                           else f"the {API_KEY_HEADER} header is not a valid key")
                await _reject(scope, receive, send, 401, "unauthorized", message)
                return
        await self.app(scope, receive, send)


class RateLimitMiddleware:
    """Per-client limit with the `limits` library (what slowapi runs on), on the storage
    `GROUNDEDQA_RATE_LIMIT_STORAGE` names (memory, or Redis shared by replicas: api/limiter.py).

    A client is an address, and with keys on, the key it presents: a widget's key is public,
    so one visitor using it up must not silence the clinic's other patients. Answering counts
    against the limit; with keys on, so does every request with a missing or wrong key, on any
    `/v1/` path, in one bucket per address, so guessing keys (or inventing a new one per
    request) is throttled like asking.

    slowapi's own middleware decides by endpoint function and answers 429 in its own format;
    a path check here keeps the limit to those requests and the 429 in the service's error body.
    """

    def __init__(self, app: ASGIApp, *, limit: RateLimitItem, keys: ClientKeys | None,
                 limiter: RateLimiter) -> None:
        self.app = app
        self.item = limit
        self.limiter = limiter
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = self._client(scope) if scope["type"] == "http" and scope["method"] != "OPTIONS" \
            else None
        if client is not None:
            if not await self.limiter.hit(self.item, client):
                reset_at = await self.limiter.reset_time(self.item, client)
                retry = max(1, math.ceil(reset_at - time.time()))
                await _reject(scope, receive, send, 429, "rate_limited",
                              f"too many questions from this client; try again in {retry} s",
                              headers={"Retry-After": str(retry)})
                return
        await self.app(scope, receive, send)

    def _client(self, scope: Scope) -> str | None:
        """The bucket this request counts in, or None when it is not limited."""
        path = scope["path"]
        peer = scope.get("client")
        # Behind a reverse proxy this is the proxy unless GROUNDEDQA_TRUSTED_PROXIES names it.
        address = "addr:" + (peer[0] if peer else "unknown")
        if self.keys is not None and _is_protected(path):
            given = self.keys.accepted(Headers(scope=scope))
            if given is None:
                # Not by key: a made-up key per request would get a fresh bucket each time.
                return address + "|unauthenticated"
            if path in RATE_LIMITED_PATHS:
                return address + "|key:" + hashlib.sha256(given.encode("latin-1")).hexdigest()[:32]
            return None
        return address if path in RATE_LIMITED_PATHS else None


class BodySizeLimitMiddleware:
    """413 for bodies over `max_bytes`, declared (Content-Length) or streamed (chunked); 408
    for a body that has not all arrived `timeout` seconds after the headers.

    The body is read here, in full, before the app runs: FastAPI turns an exception raised
    while it reads the body into a 400, so rejecting mid-read from inside would be lost.
    Starlette's RequestBodyLimitMiddleware rejects that way, and in plain text. Buffering costs
    at most `max_bytes` per request, which is small. A client that stops sending mid-body would
    otherwise hold its connection and a task forever.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float | None = None,
                 exempt_prefix: str | None = None) -> None:
        # The admin routes stream uploads under their own, larger limit after checking the key.
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt_prefix
                                       and scope["path"].startswith(self.exempt_prefix)):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive)
        except TimeoutError:
            await _reject(scope, receive, send, 408, "request_timeout",
                          f"the request body did not arrive within {self.timeout:g} s",
                          headers={"Connection": "close"})
            return
        if body is None:  # the client went away before sending it all: nobody to answer
            return
        if len(body) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([message], receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, None if the client disconnected; stops past `max_bytes`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _reject(scope, receive, send, 413, "body_too_large",
                      f"the request body is larger than {self.max_bytes} bytes")


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered like every other error: JSON with
    the red flags (Starlette answers it in plain text)."""

    def __init__(self, app: ASGIApp, *, error_body: Callable[[int, str, str], dict[str, Any]],
                 **options: Any) -> None:
        super().__init__(app, **options)
        self.error_body = error_body

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")  # "Disallowed CORS origin, ..."
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "content-type")}
        return JSONResponse(self.error_body(400, "cors_rejected", f"{reason}: this cross-origin "
                                            "request is not allowed by the server's CORS settings"),
                            status_code=400, headers=headers)


class UnhandledErrorMiddleware:
    """An exception nothing else handled becomes the service's JSON 500 (red flags, disclaimer,
    request id), inside CORS so the widget can read it, logged as one line.

    Starlette's own last resort answers plain text outside every middleware (no CORS, no
    request id) and re-raises, so the server prints a traceback per request. Here the traceback
    is logged at DEBUG only; the one line names the exception type and where it was raised,
    never its message (it may quote the patient's question).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the last resort: every exception answers JSON
            record: AccessRecord | None = scope.get("state", {}).get(_RECORD_KEY)
            request_id = record.request_id if record is not None else None
            _log_unhandled(scope, exc, request_id)
            if started:  # half a response is out: nothing valid can follow it
                return
            error_body = scope["app"].state.error_body
            body = error_body(500, "internal_error", "the service failed to answer this request; "
                              "quote the request id to the clinic if it keeps happening")
            body["error"]["request_id"] = request_id
            await JSONResponse(body, status_code=500)(scope, receive, send)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

def _log_unhandled(scope: Scope, exc: BaseException, request_id: str | None) -> None:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" \
        if frames else "unknown"
    error_log.error(json.dumps({
        "event": "unhandled_error", "request_id": request_id, "method": scope.get("method"),
        "path": scope.get("path", "")[:_MAX_LOGGED_PATH], "error": type(exc).__name__,
        "where": where,
    }))
    error_log.debug("traceback of request %s", request_id, exc_info=exc)


def rate_limiter(app: FastAPI, settings: Settings) -> RateLimiter:
    """The app's one limiter on GROUNDEDQA_RATE_LIMIT_STORAGE (`app.state.rate_limiter`), made
    on first use and shared by every limit (patients' questions, the admin API's wrong keys).
    A bad storage URL stops the server at start with one line."""
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        check_storage_url(settings.rate_limit_storage)
        limiter = app.state.rate_limiter = RateLimiter(settings.rate_limit_storage)
    return limiter


def parse_rate_limit(text: str) -> RateLimitItem:
    """`limits` notation ("60/minute", "10 per second") or a one-line CliError naming the setting."""
    try:
        return parse_limit(text)
    except ValueError as exc:
        raise CliError(f"GROUNDEDQA_RATE_LIMIT={text!r} is not a rate limit like '60/minute' "
                       f"({exc})") from exc


async def _reject(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                  message: str, headers: dict[str, str] | None = None) -> None:
    """Answer with the service's error body (red flags and disclaimer included)."""
    error_body: Callable[[int, str, str], dict[str, Any]] = scope["app"].state.error_body
    response = JSONResponse(error_body(status, code, message), status_code=status, headers=headers)
    await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages` first, then defers to the server's receive."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _is_protected(path: str) -> bool:
    if path.startswith(ADMIN_PREFIX):
        return False
    return path.startswith(PROTECTED_PREFIX) or path == PROTECTED_PREFIX.rstrip("/")


def _route_label(scope: Scope) -> str:
    """The matching route's template (`/v1/documents/{doc_id}`), for bounded metric labels.

    Matched here rather than read from scope["route"] because requests rejected before
    routing (401, 413, 429) never get one.
    """
    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match != Match.NONE:  # PARTIAL: right path, wrong method - still a known route
            return getattr(route, "path", UNMATCHED_ROUTE)
    return UNMATCHED_ROUTE


def _log_entry(scope: Scope, record: AccessRecord, status: int, elapsed: float) -> dict[str, Any]:
    # The path, never the query string: a question could be put there.
    entry: dict[str, Any] = {
        "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "request_id": record.request_id,
        "method": scope["method"],
        "path": scope["path"][:_MAX_LOGGED_PATH],
        "status": status,
        "latency_ms": round(elapsed * 1000, 2),
        "abstained": record.abstained,
        "urgent": record.urgent,
    }
    if record.question is not None:  # set only when log_text is on
        entry["question"], entry["answer"] = record.question, record.answer
    return entry


def _ensure_access_log_output() -> None:
    """Make the INFO access lines visible when the embedding program configured no logging.

    `groundedqa serve` configures the root logger, and then this adds nothing; under a bare
    `uvicorn groundedqa...` the lines would otherwise be dropped as below WARNING.
    """
    if access_log.level == logging.NOTSET:
        access_log.setLevel(logging.INFO)
    if not access_log.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
