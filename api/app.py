"""The FastAPI answer service."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException

from groundedqa import __version__
from groundedqa.api.holder import ServiceHolder
from groundedqa.api.schemas import (
    AnswerRequest,
    AnswerResponse,
    DocumentResponse,
    DocumentSummary,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    Health,
)
from groundedqa.answer.question import InvalidQuestion
from groundedqa.service import Service
from groundedqa.settings import Settings
from groundedqa.state import StateStore, UnknownAnswer

_FALLBACK_DISCLAIMER = (
    "This service gives general information from the clinic's articles, not medical advice. "
    "If you have severe or worsening symptoms, seek medical care now."
)
_ERRORS = {"model": ErrorResponse}
#: How long feedback on an unknown answer id waits for that answer's record: behind a load
#: balancer another replica may have answered, and it stores the record off the request path.
FEEDBACK_RECORD_WAIT_SECONDS = 2.0
INVALID_JSON = "the request body is not valid JSON (UTF-8 encoded)"
LONE_SURROGATE = ("question is not valid Unicode text: it holds a lone surrogate escape "
                  "(such as \\ud800) that stands for no character")


class ApiError(Exception):
    """An error answered as JSON with the red flags attached."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_app(settings: Settings | None = None, service: Service | None = None,
               state: StateStore | None = None) -> FastAPI:
    """Build the app. Without `service`, the live build of `settings.index` loads on first use;
    without `state`, the settings' state store is opened (and, for SQLite, migrated)."""
    settings = settings or Settings()
    holder = ServiceHolder(settings, service)
    state = state or StateStore.open(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The file-system watch runs while a server runs the app (not in bare TestClient use,
        # where each request's own check of CURRENT does the job).
        holder.start_watch()
        try:
            yield
        finally:
            holder.stop_watch()

    # FastAPIOffline serves /docs and /redoc with the Swagger UI and ReDoc assets its PyPI
    # package ships, from this server: no script from a CDN runs on the service's origin.
    app = FastAPIOffline(
        title="groundedqa",
        version=__version__,
        description="Answers patients' questions only with verbatim, cited sentences from the "
        "clinic's trusted articles, always with the clinic's red-flag warnings.",
        # Starlette's slash redirect builds its Location from the Host header; a wrong path is
        # a plain 404 instead.
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.clinic_state = state

    def error_body(status: int, code: str, message: str) -> dict[str, Any]:
        flags = holder.redflags()
        return {
            "error": {"status": status, "code": code, "message": message},
            "red_flags": flags.payload(holder.withheld()) if flags else [],
            "disclaimer": flags.disclaimer if flags else _FALLBACK_DISCLAIMER,
        }

    app.state.error_body = error_body
    _install_error_handlers(app, error_body)

    from groundedqa.api.admin import install_admin, is_admin
    from groundedqa.api.protection import install_protection
    from groundedqa.api.records import AnswerRecords
    from groundedqa.api.console import install_console
    from groundedqa.api.replica import Replica, install_replica
    from groundedqa.api.widget import install_widget

    replica = Replica(settings.replica_name())
    app.state.replica = replica
    # Before the protection layers: its guard sits inside them (see install_admin).
    worker = install_admin(app, settings, state, holder)
    install_protection(app, settings)
    install_replica(app, replica, holder, lambda: worker.builds)
    install_widget(app)
    install_console(app)
    records = AnswerRecords(state, settings)
    app.state.answer_records = records

    def live() -> Service:
        current = holder.get()
        if current is None:
            raise ApiError(503, "index_unavailable",
                           holder.last_error or "the index is not loaded yet; try again shortly")
        return current

    @app.api_route("/healthz", methods=["GET", "HEAD"], response_model=Health,
                   responses={503: _ERRORS})
    def healthz() -> Health:
        """200 once an index is loaded and answering (also while draining: see /readyz)."""
        current = live()
        return Health(status="ok", index=current.build_id, documents=len(current.index.store.doc_ids),
                      replica=replica.name)

    @app.post("/v1/answer", response_model=AnswerResponse,
              responses={400: _ERRORS, 422: _ERRORS, 503: _ERRORS})
    def answer(body: AnswerRequest, request: Request) -> Response:
        """Answer with verbatim cited sentences, red flags and disclaimer (see the README)."""
        if has_lone_surrogate(body.question):
            raise ApiError(422, "invalid_question", LONE_SURROGATE)
        history = body.history or []
        for i, entry in enumerate(history):
            if has_lone_surrogate(entry):
                raise ApiError(422, "invalid_question", f"history[{i}]: {LONE_SURROGATE}")
        service = live()
        try:
            answered = service.answer(body.question, body.max_sentences, history)
        except InvalidQuestion as exc:
            raise ApiError(422, "invalid_question", str(exc)) from exc
        result = answered.to_dict()
        if not is_admin(request):  # the console's Try it: the clinic's tests, not a patient's
            records.record(result, body.question, service.encoder, answered.encoded)
        record = getattr(request.app.state, "record_answer", None)
        if record is not None:
            record(request, result["abstained"], result["urgent"], body.question, result["answer"])
        # Serialised here, in the request's worker thread: returned as a dict, FastAPI would
        # validate it in a second trip through the thread pool and serialise it on the event loop.
        return Response(answer_body(result), media_type="application/json")

    @app.post("/v1/feedback", response_model=FeedbackResponse, status_code=201,
              responses={404: _ERRORS, 422: _ERRORS})
    def give_feedback(body: FeedbackRequest) -> dict[str, Any]:
        """Helpful or not (and an optional comment) on an answer, by its `answer_id`."""
        try:
            stored = state.feedback.add(body.answer_id, body.helpful, body.comment)
        except UnknownAnswer:
            records.flush()  # the answer's record may still be on its way to the store
            deadline = time.monotonic() + FEEDBACK_RECORD_WAIT_SECONDS
            while True:
                try:
                    stored = state.feedback.add(body.answer_id, body.helpful, body.comment)
                    break
                except UnknownAnswer as exc:
                    # ... or on its way from the replica that answered (records are written
                    # off the request path there).
                    if time.monotonic() >= deadline:
                        raise ApiError(404, "unknown_answer", str(exc)) from exc
                    time.sleep(0.1)
        return {"answer_id": stored.answer_id, "helpful": stored.helpful, "stored": True}

    @app.get("/v1/documents", response_model=list[DocumentSummary], responses={503: _ERRORS})
    def documents() -> list[dict[str, Any]]:
        """Every indexed document with its metadata (withdrawn ones left out)."""
        service = live()
        withdrawn = service.withdrawn()
        return [
            {**d, "url": d["metadata"].get("url"), "doc_version": d.get("content_hash")}
            for d in service.index.store.documents() if d["doc_id"] not in withdrawn
        ]

    @app.get("/v1/documents/{doc_id}", response_model=DocumentResponse,
             responses={404: _ERRORS, 410: _ERRORS, 503: _ERRORS})
    def document(doc_id: str, version: str | None = Query(
            None, max_length=64, description="A citation's `doc_version`: that version's text, "
            "while it is retained (default: the live version).")) -> dict[str, Any]:
        """The cleaned text (what citation offsets index into) and metadata of one document;
        410 `withdrawn` (any version) once the clinic has withdrawn it."""
        service = live()
        withdrawal = service.withdrawn().get(doc_id)
        if withdrawal is not None:
            # The reason is the clinic's internal note; patients are told only that it is gone.
            raise ApiError(410, "withdrawn", f"document {doc_id!r} was withdrawn by the clinic on "
                           f"{withdrawal.at[:10]} and is no longer available")
        rec = service.document(doc_id)
        if rec is not None and version in (None, rec.content_hash):
            return {"doc_id": rec.doc_id, "title": rec.title, "url": rec.metadata.get("url"),
                    "text": rec.text, "metadata": rec.metadata, "references": rec.references,
                    "pages": [{"page": p.page, "start": p.start, "end": p.end} for p in rec.pages],
                    "doc_version": rec.content_hash, "live": True}
        if version is None:
            raise ApiError(404, "unknown_document", f"no document with id {doc_id!r}")
        old = state.versions.get(doc_id, version)
        if old is None:
            raise ApiError(404, "unknown_version", (
                f"version {version!r} of document {doc_id!r} is not available: it never existed "
                f"or was replaced more than {settings.version_retention_days} days ago"))
        return {"doc_id": old.doc_id, "title": old.title, "url": old.metadata.get("url"),
                "text": old.text, "metadata": old.metadata, "references": old.references,
                "doc_version": old.version, "live": False}

    return app


def _install_error_handlers(app: FastAPI, error_body) -> None:
    def respond(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return respond(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own 400 is a body it could not decode (bad UTF-8 and the like).
            return respond(400, "invalid_json", INVALID_JSON)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return respond(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = describe_validation_error(exc.errors())
        return respond(status, code, message)


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds a surrogate code point: JSON's \\ud800 escapes decode to one, but
    no UTF-8 text can, so nothing downstream (tokenizer, database, log) could handle it."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def describe_validation_error(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    """One clear message for pydantic's error list (the first problem is the one to fix)."""
    if not errors:
        return 422, "invalid_request", "the request is not valid"
    first = errors[0]
    kind, loc = first.get("type", ""), [str(p) for p in first.get("loc", ()) if p != "body"]
    if kind == "json_invalid":
        return 400, "invalid_json", INVALID_JSON
    if not loc and kind in ("model_attributes_type", "dict_type", "model_type"):
        return 422, "invalid_body", "the request body must be a JSON object like {\"question\": \"...\"}"
    # "history[2]", as the client wrote the list, not pydantic's "history.2"
    field = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or "body"
    if kind == "missing":
        return 422, "missing_field", f"'{field}' is required"
    return 422, "invalid_field", f"'{field}': {first.get('msg', 'invalid value')}"


_ANSWER_RESPONSE = TypeAdapter(AnswerResponse)


def answer_body(result: dict[str, Any]) -> bytes:
    """POST /v1/answer's body for `result`: validated against AnswerResponse and serialised as
    FastAPI serialises a `response_model` (pydantic's JSON, by alias)."""
    return _ANSWER_RESPONSE.dump_json(_ANSWER_RESPONSE.validate_python(result, from_attributes=True),
                                      by_alias=True)


def answer_json(result: dict[str, Any]) -> str:
    """The exact bytes POST /v1/answer returns for `result` (the CLI's `ask --json` prints this)."""
    return answer_body(result).decode("utf-8")
