"""Rerank: reorder retrieved passages with a stronger, slower model (a cross-encoder is one new
class here)."""

from __future__ import annotations

from typing import Protocol

from groundedqa.answer.types import Query
from groundedqa.index.ports import PassageHit


class Reranker(Protocol):
    """Reorders (and may drop) passages."""

    def rerank(self, query: Query, hits: list[PassageHit]) -> list[PassageHit]: ...


class IdentityReranker:
    """Keeps the retriever's order: the hybrid score is the ranking today."""

    def rerank(self, query: Query, hits: list[PassageHit]) -> list[PassageHit]:
        return hits
