"""The service under evaluation, behind one interface: the in-process pipeline or a running server.

Both hand back the /v1/answer body and, separately, the document text that body is verified
against, so verification never relies on what the response says about itself.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote as url_quote

from groundedqa.errors import CliError

if TYPE_CHECKING:
    import httpx


class AnswerFailed(RuntimeError):
    """One question could not be answered (bad input, server error); the run goes on."""


class AnswerClient(Protocol):
    """What a run needs from a service: answers, and document text to verify them against."""

    target: str

    def answer(self, question: str, history: list[str] | None = None) -> dict: ...

    def document_text(self, doc_id: str) -> str | None: ...


class PipelineClient:
    """The in-process service; documents come from its index store, not from the response."""

    def __init__(self, service: Any, target: str, max_sentences: int | None = None) -> None:
        self.service = service
        self.target = target
        self.max_sentences = max_sentences

    def answer(self, question: str, history: list[str] | None = None) -> dict:
        """The pipeline's response body (`history`: the patient's earlier messages, oldest
        first); AnswerFailed when it rejects the question."""
        try:
            return self.service.answer(question, self.max_sentences, tuple(history or ())).to_dict()
        except ValueError as exc:  # InvalidQuestion is a ValueError
            raise AnswerFailed(str(exc)) from exc

    def document_text(self, doc_id: str) -> str | None:
        """The stored document text, None for an unknown id."""
        record = self.service.document(doc_id)
        return None if record is None else record.text


class HttpClient:
    """A running server: POST /v1/answer, and GET /v1/documents/{id} for the text to verify."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 60.0,
                 max_sentences: int | None = None, max_wait_s: float = 120.0,
                 http: httpx.Client | None = None) -> None:
        import httpx

        self.target = url.rstrip("/")
        self.max_sentences = max_sentences
        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = http or httpx.Client(base_url=self.target, headers=headers, timeout=timeout)
        self.max_wait_s = max_wait_s
        self._texts: dict[str, str | None] = {}

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import httpx

        # A deployed server rate-limits (60/minute by default) and a question set is larger than
        # that, so 429s are waited out (as the server's Retry-After asks) rather than scored.
        waited = 0.0
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise CliError(f"cannot reach {self.target}: {exc}") from exc
            if response.status_code in (401, 403):
                raise CliError(f"{self.target} refused the request (HTTP {response.status_code}): "
                               "pass --api-key or set GROUNDEDQA_EVAL_API_KEY")
            if response.status_code != 429 or waited >= self.max_wait_s:
                return response
            delay = _retry_after(response)
            time.sleep(delay)
            waited += delay

    def answer(self, question: str, history: list[str] | None = None) -> dict:
        """POST /v1/answer; AnswerFailed for a non-200 answer, CliError when unreachable.

        `history` (the patient's earlier messages, oldest first) is sent when given, even empty;
        None leaves the field out."""
        body: dict[str, Any] = {"question": question}
        if history is not None:
            body["history"] = list(history)
        if self.max_sentences is not None:
            body["max_sentences"] = self.max_sentences
        response = self._request("POST", "/v1/answer", json=body)
        if response.status_code != 200:
            raise AnswerFailed(f"HTTP {response.status_code}: {_error_message(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise AnswerFailed("the response body is not JSON") from exc

    def document_text(self, doc_id: str) -> str | None:
        """GET /v1/documents/{doc_id} once per id; None when the server does not know it."""
        if doc_id not in self._texts:
            response = self._request("GET", f"/v1/documents/{url_quote(doc_id, safe='')}")
            if response.status_code == 404:
                self._texts[doc_id] = None
            elif response.status_code != 200:
                raise AnswerFailed(f"GET document {doc_id!r}: HTTP {response.status_code}")
            else:
                try:
                    text = response.json().get("text")
                except (ValueError, AttributeError):
                    text = None
                self._texts[doc_id] = text if isinstance(text, str) else None
        return self._texts[doc_id]


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.5), 60.0)
    except ValueError:
        return 1.0


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase
