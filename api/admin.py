"""The admin API: put or delete a document, withdraw or restore one at once, list documents with
their versions, build status.

Every `/v1/admin/` request needs an `X-Admin-Key` from `GROUNDEDQA_ADMIN_KEYS` (patient keys never
admit); with no admin key configured the routes refuse every request (403), never open. The key
is checked before the body is read, and uploads have their own size limit.

Each change is written to the corpus, queued in the state store, and built by a builder thread,
which takes every queued change at once (changes arriving during a build are coalesced into the
next) and swaps the new build in when it is published. Every replica runs one; the builder lock
lets one build at a time (`ClinicAdmin.build_pending`), and the others swap to the published build
by themselves. The live build keeps answering throughout.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Body, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from limits import parse as parse_limit
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from groundedqa.admin import ClinicAdmin
from groundedqa.api.admin_reports import eval_runner, reports_router
from groundedqa.api.holder import ServiceHolder
from groundedqa.api.limiter import RateLimiter
from groundedqa.api.protection import (
    ADMIN_KEY_HEADER,
    ADMIN_PREFIX,
    BodySizeLimitMiddleware,
    KeyRing,
    rate_limiter,
)
from groundedqa.api.schemas import RestoreRequest, WithdrawRequest
from groundedqa.index.withdrawals import NotWithdrawn
from groundedqa.ingest.corpus_edit import CorpusConflict, UnknownDocument, UploadRejected
from groundedqa.settings import Settings
from groundedqa.state import StateStore

#: Wrong admin keys allowed per client address before it must wait (guessing is throttled).
FAILED_KEY_LIMIT = "10/minute"
#: How often the builder looks for changes queued by another process, and tidies retention.
POLL_SECONDS = 2.0
HOUSEKEEPING_SECONDS = 3600.0

log = logging.getLogger("groundedqa.admin")


def install_admin(app: FastAPI, settings: Settings, state: StateStore,
                  holder: ServiceHolder) -> BuildWorker:
    """Mount the admin routes and their guard, and start the builder thread."""
    admin = ClinicAdmin(settings, state, lambda: holder.encoder)
    worker = BuildWorker(admin, state, holder)
    app.add_middleware(AdminGuard, keys=settings.admin_keys, max_bytes=settings.max_upload_bytes,
                       timeout=settings.body_timeout_seconds,
                       limiter=rate_limiter(app, settings))
    app.include_router(admin_router(admin, worker, holder))
    app.include_router(reports_router(state, holder, eval_runner(holder)))
    app.state.admin_worker = worker
    app.state.admin_keys = KeyRing(settings.admin_keys)
    worker.start()
    return worker


def is_admin(request: Request) -> bool:
    """True for a request with a valid admin key (the console's own questions)."""
    return request.app.state.admin_keys.valid(request.headers.get(ADMIN_KEY_HEADER))


def admin_router(admin: ClinicAdmin, worker: BuildWorker, holder: ServiceHolder) -> APIRouter:
    router = APIRouter(prefix=ADMIN_PREFIX.rstrip("/"), tags=["admin"])

    def problem(status: int, code: str, message: str, request: Request) -> JSONResponse:
        return JSONResponse(request.app.state.error_body(status, code, message), status_code=status)

    @router.put("/documents/{doc_id}", status_code=202)
    def put_document(
        doc_id: str, request: Request, file: UploadFile = File(...),
        title: str | None = Form(None), url: str | None = Form(None),
        publisher: str | None = Form(None), author: str | None = Form(None),
        date: str | None = Form(None), type: str | None = Form(None),  # noqa: A002 - the contract's name
    ) -> Any:
        """Upload or replace a document (multipart `file` + metadata); a build is queued."""
        fields = {"title": title, "url": url, "publisher": publisher, "author": author,
                  "date": date, "type": type}
        data = file.file.read()
        try:
            accepted = admin.put(doc_id, file.filename or "", data, fields)
        except UploadRejected as exc:
            return problem(422, "invalid_document", str(exc), request)
        except CorpusConflict as exc:
            return problem(409, "corpus_conflict", str(exc), request)
        worker.wake()
        return {"doc_id": accepted.doc_id, "version": accepted.version,
                "build": _ticket(accepted.change.to_dict(), holder)}

    @router.delete("/documents/{doc_id}", status_code=202)
    def delete_document(doc_id: str, request: Request) -> Any:
        """Remove a document from the corpus; a build is queued."""
        try:
            change = admin.delete(doc_id)
        except UnknownDocument as exc:
            return problem(404, "unknown_document", str(exc), request)
        except CorpusConflict as exc:
            return problem(409, "corpus_conflict", str(exc), request)
        worker.wake()
        return {"doc_id": doc_id, "build": _ticket(change.to_dict(), holder)}

    @router.post("/documents/{doc_id}/withdraw")
    def withdraw_document(doc_id: str, body: WithdrawRequest, request: Request) -> Any:
        """Stop quoting a document now, on every server reading this index (no build); recorded
        with who, when and why. Idempotent: a second call returns the first record."""
        try:
            done = admin.withdraw(doc_id, body.reason, _actor(request, body.by))
        except UnknownDocument as exc:
            return problem(404, "unknown_document", str(exc), request)
        return done.to_dict()

    @router.post("/documents/{doc_id}/restore")
    def restore_document(doc_id: str, request: Request,
                         body: RestoreRequest | None = Body(None)) -> Any:
        """Serve a withdrawn document again (409 when it is not withdrawn)."""
        try:
            done = admin.restore(doc_id, _actor(request, body.by if body else None))
        except NotWithdrawn as exc:
            return problem(409, "not_withdrawn", str(exc), request)
        return {"doc_id": doc_id, "restored": True, "withdrawal": done.withdrawal.to_dict(),
                "notes": done.notes}

    @router.get("/documents")
    def list_documents() -> list[dict[str, Any]]:
        """Every document with its live version, retained versions, skips and queued changes."""
        service = holder.get()
        return admin.documents(service.index if service else None)

    @router.get("/status")
    def status() -> dict[str, Any]:
        """`{live, building, pending, last_error}`: what serves, what builds, what waits."""
        return admin.status(_serving(holder))

    return router


def _actor(request: Request, name: str | None) -> str:
    """Who did it, as recorded: the name the caller gives (the console's user) and the admin
    key used, by a fingerprint (never the key itself)."""
    key = request.headers.get(ADMIN_KEY_HEADER, "").encode("latin-1")
    label = f"admin key {hashlib.sha256(key).hexdigest()[:8]}"
    return f"{name.strip()} ({label})" if name and name.strip() else label


def _ticket(change: dict[str, Any], holder: ServiceHolder) -> dict[str, Any]:
    """The `build` of a 202: the queued change, and the build serving until it is live."""
    return {"change": change["change"], "status": change["status"], "live": _serving(holder)}


def _serving(holder: ServiceHolder) -> str | None:
    service = holder.get()
    return service.build_id if service is not None else None


class BuildWorker:
    """One thread that builds queued changes and swaps the result in."""

    def __init__(self, admin: ClinicAdmin, state: StateStore, holder: ServiceHolder,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.admin = admin
        self.state = state
        self.holder = holder
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="groundedqa-builder", daemon=True)
        self.builds = 0  # builds this worker ran (tests and the log read it)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        next_housekeeping = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if self.admin.build_pending():
                    self.builds += 1
                    self.holder.reload()  # serve it now rather than at the next poll
                else:
                    # A build another replica published is served without waiting for traffic.
                    self.holder.get()
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                    self.state.purge()
            except Exception:  # noqa: BLE001 - the builder must outlive a bad moment
                log.exception("admin builder error")


class AdminGuard:
    """`/v1/admin/*` only with a valid `X-Admin-Key`, checked before the body is read; bodies up
    to `max_bytes`. 403 when no admin key is configured, 401 for a missing or wrong key, 429
    after repeated wrong keys from one address."""

    def __init__(self, app: ASGIApp, *, keys: Sequence[str], max_bytes: int,
                 timeout: float | None = None, limiter: RateLimiter | None = None) -> None:
        self.app = app
        self.keys = KeyRing(keys)
        self.configured = any(keys)
        self.limited = BodySizeLimitMiddleware(app, max_bytes=max_bytes, timeout=timeout)
        # Shared with the patients' limit: with Redis, guesses spread over replicas add up.
        self.failures = limiter or RateLimiter()
        self.failure_limit = parse_limit(FAILED_KEY_LIMIT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(scope)
        if refusal is None:
            await self.limited(scope, receive, send)
            return
        status, code, message = refusal
        body: Callable[[int, str, str], dict] = scope["app"].state.error_body
        await JSONResponse(body(status, code, message), status_code=status)(scope, receive, send)

    async def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        if not self.configured:
            return 403, "admin_disabled", ("the admin API is off: no admin key is configured "
                                           "(GROUNDEDQA_ADMIN_KEYS)")
        peer = scope.get("client")
        client = "admin:" + (peer[0] if peer else "unknown")
        if not await self.failures.test(self.failure_limit, client):
            return 429, "rate_limited", "too many wrong admin keys from this address; wait a minute"
        given = Headers(scope=scope).get(ADMIN_KEY_HEADER)
        if self.keys.valid(given):
            return None
        await self.failures.hit(self.failure_limit, client)
        return 401, "unauthorized", (f"a valid {ADMIN_KEY_HEADER} header is required" if not given
                                     else f"the {ADMIN_KEY_HEADER} header is not a valid admin key")
