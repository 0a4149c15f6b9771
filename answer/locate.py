"""Locate: score the quotable sentences of the retrieved passages against the question."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from groundedqa.answer.types import AnswerTuning, Candidate, Query
from groundedqa.index.ports import DenseIndex, PassageHit, SentenceStore
from groundedqa.retrieval.search import HybridSearch

class Locator(Protocol):
    """Candidate sentences, best first."""

    def locate(self, query: Query, hits: list[PassageHit]) -> list[Candidate]: ...


class SentenceLocator:
    """Each quotable sentence of the top passages, scored by its own cosine to the question, its
    passage's cosine (the context it stands in) and the share of the question's idf it holds."""

    def __init__(self, store: SentenceStore, dense: DenseIndex, search: HybridSearch,
                 tuning: AnswerTuning) -> None:
        self.store = store
        self.dense = dense
        self.search = search
        self.tuning = tuning

    def locate(self, query: Query, hits: list[PassageHit]) -> list[Candidate]:
        if not hits:
            return []
        passage_ids = [h.passage for h in hits]
        passage_sims = self.dense.vectors(passage_ids) @ query.vector
        context: dict[int, float] = {}  # sentence row -> best similarity of a passage holding it
        for passage, sim in zip(passage_ids, passage_sims):
            rows = self.store.passage_sentences(passage)
            for row, kind in zip(rows, self.store.sentence_kinds(rows)):
                if kind == "sentence":
                    context[row] = max(context.get(row, -1.0), float(sim))
        if not context:
            return []
        rows = list(context)
        own = self.store.sentence_vectors(rows) @ query.vector
        records = self.store.sentences(rows)
        lexical = self.search.term_overlap(query.search_text, [r.text for r in records])
        t = self.tuning
        scores = (t.sentence_weight * own + t.context_weight * np.array([context[r] for r in rows])
                  + t.lexical_weight * lexical)
        order = np.argsort(-scores, kind="stable")
        return [Candidate(rows[i], records[i].doc_idx, float(scores[i]), records[i].text) for i in order]
