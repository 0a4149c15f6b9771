"""What the answer route leaves in the clinic's records: an answer record for later feedback, and a
coverage-gap record when the articles did not cover the question.

Recording never fails or slows an answer: records are written by one background thread (so
request threads never wait on the database, nor on each other for SQLite's write lock), and a
state store that is down costs the records, logged, not the patient's reply. Gap records need
the question's vector: that extra encode, only for abstained or low-confidence questions, runs on
the same thread.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from groundedqa.index.ports import Encoder
from groundedqa.settings import Settings
from groundedqa.state import StateStore

log = logging.getLogger("groundedqa.records")


class AnswerRecords:
    def __init__(self, state: StateStore, settings: Settings) -> None:
        self.state = state
        self.gap_below = settings.gap_confidence_below
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groundedqa-records")

    def record(self, result: dict[str, Any], question: str, encoder: Encoder) -> None:
        """Queue the records of an answer (the HTTP body) to `question`."""
        self._writer.submit(self._record_answer, result)
        kind = self.gap_kind(result)
        if kind is not None:
            self._writer.submit(self._record_gap, kind, result, question, encoder)

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

    def _record_answer(self, result: dict[str, Any]) -> None:
        try:
            self.state.feedback.record_answer(result)
        except Exception:  # noqa: BLE001 - the answer went out; only its record is lost
            log.exception("answer record not stored")

    def _record_gap(self, kind: str, result: dict[str, Any], question: str,
                    encoder: Encoder) -> None:
        try:
            vector = encoder.encode([question])[0]
            self.state.gaps.record(vector, kind=kind, build_id=result["index"], question=question,
                                   confidence=result.get("confidence"))
        except Exception:  # noqa: BLE001 - a lost gap record must not stop the next ones
            log.exception("coverage-gap record not stored")
