"""Coverage: does the evidence cover what was asked? Abstain when it does not."""

from __future__ import annotations

from typing import Protocol

from groundedqa.answer.types import AnswerTuning, Candidate, Coverage, Query


class CoverageCheck(Protocol):
    """Decides between answering and abstaining, with a confidence in 0..1."""

    def assess(self, query: Query, candidates: list[Candidate]) -> Coverage: ...


class ScoreCoverage:
    """Covered when the best sentence's score reaches the calibrated threshold."""

    def __init__(self, tuning: AnswerTuning) -> None:
        self.tuning = tuning

    def assess(self, query: Query, candidates: list[Candidate]) -> Coverage:
        best = candidates[0].score if candidates else 0.0
        return Coverage(covered=best >= self.tuning.abstain_below,
                        confidence=float(min(1.0, max(0.0, best))))
