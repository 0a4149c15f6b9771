"""Question -> Answer through injected stages, nothing else.

    read question -> triage -> converse -> retrieve -> rerank -> locate -> coverage -> select
    -> compose

A question in another language, or an urgent one, goes from triage straight to compose: the
first gets the language message, the second the seek-care message and the articles' red flags.
Triage reads the whole conversation (the patient's earlier messages come with the request); the
conversation stage (`conversation.py`) decides whether the message stands alone or is searched
with the conversation's subject carried over, replaying the earlier turns' searches when it needs
to know what they quoted.

Each stage is a small protocol (see its module); a new model or rule for one job is one new class
passed in here, tested on its own records.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from groundedqa.answer.compose import Composer
from groundedqa.answer.conversation import Conversation, Outcome
from groundedqa.answer.coverage import CoverageCheck
from groundedqa.answer.language import ENGLISH
from groundedqa.answer.locate import Locator
from groundedqa.answer.question import QuestionReader
from groundedqa.answer.rerank import Reranker
from groundedqa.answer.retrieve import Retriever
from groundedqa.answer.select import Selector
from groundedqa.answer.triage import Triage
from groundedqa.answer.types import Answer, Candidate, Coverage, Query


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

    conversation: Conversation | None = None

    def answer(self, question: str, max_sentences: int | None = None,
               history: Sequence[str] = (), withheld: Collection[str] = ()) -> Answer:
        """The answer to `question`, `history` being the patient's earlier messages in this
        conversation, oldest first, never quoting the documents in `withheld` (raises
        InvalidQuestion for bad input)."""
        query = self.reader.read(question, max_sentences, history)
        if withheld:
            # The earlier messages are searched again for their subject: never from these either.
            gone = frozenset(withheld)
            query = replace(query, withheld=gone,
                            earlier=tuple(replace(e, withheld=gone) for e in query.earlier))
        triage = self.triage.assess(query)
        if query.language != ENGLISH:
            # The articles are in English: nothing to retrieve, the message says so.
            answer = self.composer.compose(query, [], triage, Coverage(False, 0.0, "language"))
            return _with(answer, query, query.search_text, triage.from_earlier)
        if triage.urgent:
            # The answer is the seek-care message and the red flags, not the question asked.
            answer = self.composer.compose(query, [], triage, Coverage(False, 0.0, "urgent"))
            return _with(answer, query, query.search_text, triage.from_earlier)
        if self.conversation is None:
            outcome = self.search(query)
            answer = self.composer.compose(query, outcome.selected, triage, outcome.coverage)
            return _with(answer, query, query.search_text, False)
        plan = self.conversation.plan(query, self.search)
        answer = self.composer.compose(replace(plan.query, asked=query.asked), plan.selected,
                                       triage, plan.coverage)
        return _with(answer, query, plan.interpreted_as, plan.context_used)

    def search(self, query: Query, exclude: frozenset[int] | set[int] = frozenset(),
               prefer: Callable[[list[Candidate]], list[Candidate]] | None = None) -> Outcome:
        """retrieve -> rerank -> locate -> coverage -> select for one query; `exclude` drops
        sentences already quoted, `prefer` rescores the candidates (a follow-up's preference for the
        sections that answered before) before coverage and selection read them; `Outcome.top` is
        the best score before it."""
        hits = self.reranker.rerank(query, self.retriever.retrieve(query))
        candidates = self.locator.locate(query, hits)
        if exclude:
            candidates = [c for c in candidates if c.sentence not in exclude]
        top = candidates[0].score if candidates else 0.0
        if prefer is not None:
            candidates = prefer(candidates)
        coverage = self.coverage.assess(query, candidates)
        selected = self.selector.select(query, candidates) if coverage.covered else []
        return Outcome(candidates, coverage, selected, top)


def _with(answer: Answer, query: Query, interpreted_as: str, context_used: bool) -> Answer:
    """The answer with what was searched, whether earlier messages shaped it, and the vectors
    this request computed for `query` (the question as read)."""
    encoded = {query.search_text: query.vector}
    if query.clause_vectors is not None:
        encoded.update(zip(query.clauses, query.clause_vectors))
    return replace(answer, extra={**answer.extra, "interpreted_as": interpreted_as,
                                  "context_used": bool(context_used)}, encoded=encoded)
