"""What the answer route leaves in the clinic's records: an answer record for later feedback, and a
coverage-gap record when the articles did not cover the question.

Recording never fails an answer: a state store that is down costs the records, logged, not the
patient's reply. Gap records need the question's vector, so they are made on one background
thread (an extra encode, only for abstained or low-confidence questions) off the request's path.
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
        self._gaps = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groundedqa-gaps")

    def record(self, result: dict[str, Any], question: str, encoder: Encoder) -> None:
        """Record an answer (the HTTP body) to `question`; queue a gap record if it is one."""
        try:
            self.state.feedback.record_answer(result)
        except Exception:  # noqa: BLE001 - the answer goes out regardless
            log.exception("answer record not stored")
        kind = self.gap_kind(result)
        if kind is not None:
            self._gaps.submit(self._record_gap, kind, result, question, encoder)

    def gap_kind(self, result: dict[str, Any]) -> str | None:
        """"abstained", "low_confidence" or None for a covered answer."""
        if result.get("abstained"):
            return "abstained"
        confidence = result.get("confidence")
        if confidence is not None and confidence < self.gap_below:
            return "low_confidence"
        return None

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the gap records queued so far are stored (tests, shutdown)."""
        done = self._gaps.submit(lambda: None)
        done.result(timeout)

    def _record_gap(self, kind: str, result: dict[str, Any], question: str,
                    encoder: Encoder) -> None:
        try:
            vector = encoder.encode([question])[0]
            self.state.gaps.record(vector, kind=kind, build_id=result["index"], question=question,
                                   confidence=result.get("confidence"))
        except Exception:  # noqa: BLE001 - a lost gap record must not stop the next ones
            log.exception("coverage-gap record not stored")
