"""Retrieve: the passages that may hold the answer."""

from __future__ import annotations

from typing import Protocol

from groundedqa.answer.types import AnswerTuning, Query
from groundedqa.index.ports import PassageHit
from groundedqa.retrieval.search import HybridSearch


class Retriever(Protocol):
    """Ranked passages for a query (the query is already encoded)."""

    def retrieve(self, query: Query) -> list[PassageHit]: ...


class HybridRetriever:
    """The hybrid search over the index ports, cut to the passages the answer considers."""

    def __init__(self, search: HybridSearch, tuning: AnswerTuning) -> None:
        self.search = search
        self.tuning = tuning

    def retrieve(self, query: Query) -> list[PassageHit]:
        return self.search.hybrid(query.search_text, query.vector, self.tuning.top_passages,
                                  exclude=query.withheld)
