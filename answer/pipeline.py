"""Question -> Answer through injected stages, nothing else.

    read question -> triage -> retrieve -> rerank -> locate -> coverage -> select -> compose

A question in another language, or an urgent one, goes from triage straight to compose: the
first gets the language message, the second the seek-care message and the articles' red flags.

Each stage is a small protocol (see its module); a new model or rule for one job is one new class
passed in here, tested on its own records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from groundedqa.answer.compose import Composer
from groundedqa.answer.coverage import CoverageCheck
from groundedqa.answer.language import ENGLISH
from groundedqa.answer.locate import Locator
from groundedqa.answer.question import QuestionReader
from groundedqa.answer.rerank import Reranker
from groundedqa.answer.retrieve import Retriever
from groundedqa.answer.select import Selector
from groundedqa.answer.triage import Triage
from groundedqa.answer.types import Answer, Coverage


@dataclass(frozen=True)
class AnswerPipeline:
    """Holds nothing per request; safe to share between threads."""

    reader: QuestionReader
    triage: Triage
    retriever: Retriever
    reranker: Reranker
    locator: Locator
    coverage: CoverageCheck
    selector: Selector
    composer: Composer

    def answer(self, question: str, max_sentences: int | None = None,
               history: Sequence[str] = ()) -> Answer:
        """The answer to `question` (raises InvalidQuestion for bad input)."""
        query = self.reader.read(question, max_sentences, history)
        triage = self.triage.assess(query)
        if query.language != ENGLISH:
            # The articles are in English: nothing to retrieve, the message says so.
            return self.composer.compose(query, [], triage, Coverage(False, 0.0, "language"))
        if triage.urgent:
            # The answer is the seek-care message and the red flags, not the question asked.
            return self.composer.compose(query, [], triage, Coverage(False, 0.0, "urgent"))
        hits = self.reranker.rerank(query, self.retriever.retrieve(query))
        candidates = self.locator.locate(query, hits)
        coverage = self.coverage.assess(query, candidates)
        selected = self.selector.select(query, candidates) if coverage.covered else []
        return self.composer.compose(query, selected, triage, coverage)
