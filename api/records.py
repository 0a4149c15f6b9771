"""What the answer route leaves in the clinic's records: an answer record for later feedback, and a
coverage-gap record when the articles did not cover the question.

Recording never fails or slows an answer: records are written by one background thread (so
request threads never wait on the database, nor on each other for SQLite's write lock), and a
state store that is down costs the records, logged, not the patient's reply. Answer records that
queue while a write runs are stored together, in one transaction. Gap records need the
question's vector: the one the request computed when it encoded the question as sent (nearly
always), else an extra encode on the same thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from groundedqa.index.ports import Encoder
from groundedqa.settings import Settings
from groundedqa.state import StateStore

log = logging.getLogger("groundedqa.records")


class AnswerRecords:
    def __init__(self, state: StateStore, settings: Settings) -> None:
        self.state = state
        self.gap_below = settings.gap_confidence_below
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groundedqa-records")
        self._pending: list[dict[str, Any]] = []  # answer records not yet taken by a write
        self._lock = threading.Lock()

    def record(self, result: dict[str, Any], question: str, encoder: Encoder,
               encoded: Mapping[str, np.ndarray] | None = None) -> None:
        """Queue the records of an answer (the HTTP body) to `question`; `encoded`: texts the
        request already encoded, with their vectors (`Answer.encoded`)."""
        with self._lock:
            self._pending.append(result)
            # One write task per batch: a task queued earlier takes this record with its own.
            write = len(self._pending) == 1
        if write:
            self._writer.submit(self._record_answers)
        kind = self.gap_kind(result)
        if kind is not None:
            vector = (encoded or {}).get(question)
            self._writer.submit(self._record_gap, kind, result, question, encoder, vector)

    def gap_kind(self, result: dict[str, Any]) -> str | None:
        """"abstained", "low_confidence" or None for a covered answer."""
        if result.get("abstained"):
            return "abstained"
        confidence = result.get("confidence")
        if confidence is not None and confidence < self.gap_below:
            return "low_confidence"
        return None

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the records queued so far are stored (feedback on a fresh answer, tests)."""
        self._writer.submit(lambda: None).result(timeout)

    def _record_answers(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        try:
            self.state.feedback.record_answers(batch)
        except Exception:  # noqa: BLE001 - the answers went out; only their records are lost
            if len(batch) == 1:
                log.exception("answer record not stored")
                return
            # One bad record must not cost the others theirs.
            for result in batch:
                try:
                    self.state.feedback.record_answer(result)
                except Exception:  # noqa: BLE001
                    log.exception("answer record not stored")

    def _record_gap(self, kind: str, result: dict[str, Any], question: str,
                    encoder: Encoder, vector: np.ndarray | None) -> None:
        try:
            if vector is None:
                vector = encoder.encode([question])[0]
            self.state.gaps.record(vector, kind=kind, build_id=result["index"], question=question,
                                   confidence=result.get("confidence"))
        except Exception:  # noqa: BLE001 - a lost gap record must not stop the next ones
            log.exception("coverage-gap record not stored")
