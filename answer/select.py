"""Select: which candidate sentences the answer quotes, and in what order."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from groundedqa.answer.types import AnswerTuning, Candidate, Query
from groundedqa.index.ports import SentenceStore


class Selector(Protocol):
    """The sentences to quote, in the order they are shown."""

    def select(self, query: Query, candidates: list[Candidate]) -> list[Candidate]: ...


class MmrSelector:
    """MMR over the candidates close enough to the best one; lead-ins bring their items; the
    result is put back in each article's reading order."""

    def __init__(self, store: SentenceStore, tuning: AnswerTuning) -> None:
        self.store = store
        self.tuning = tuning

    def select(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        if not candidates:
            return []
        t, limit = self.tuning, query.limit
        floor = max(t.min_sentence, candidates[0].score - t.margin)
        pool = [c for c in candidates if c.score >= floor]
        by_row = {c.sentence: c for c in candidates}
        picked: list[Candidate] = []
        for cand in self._mmr(pool, limit):
            if len(picked) >= limit:
                break
            if cand.text.endswith(":"):
                # "Steer clear of:" says nothing alone; it is quoted with the items it introduces.
                items = [i for i in self._items_after(cand, by_row) if i not in picked]
                room = limit - len(picked) - 1
                if room < 1 or not items:
                    continue
                picked.extend([cand, *items[:min(room, t.lead_in_items)]])
            elif cand not in picked:
                picked.append(cand)
        # Reading order: articles by their best sentence, sentences by position in the article.
        doc_rank: dict[int, int] = {}
        for c in picked:
            doc_rank.setdefault(c.doc_idx, len(doc_rank))
        return sorted(picked, key=lambda c: (doc_rank[c.doc_idx], c.sentence))

    def _mmr(self, pool: list[Candidate], limit: int) -> list[Candidate]:
        vectors = self.store.sentence_vectors([c.sentence for c in pool])
        t = self.tuning
        chosen: list[int] = []
        while len(chosen) < min(limit, len(pool)):
            best_i, best_value = -1, -np.inf
            for i, cand in enumerate(pool):
                if i in chosen:
                    continue
                redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                if redundancy >= t.duplicate:
                    continue
                value = t.mmr_lambda * cand.score - (1 - t.mmr_lambda) * redundancy
                if value > best_value:
                    best_i, best_value = i, value
            if best_i < 0:
                break
            chosen.append(best_i)
        return [pool[i] for i in chosen]

    def _items_after(self, lead_in: Candidate, by_row: dict[int, Candidate]) -> list[Candidate]:
        """The sentences a lead-in introduces: the first sentence of each following block, up to
        the next heading or the end of the article."""
        doc_rows = self.store.doc_sentences(lead_in.doc_idx)
        rows = range(lead_in.sentence + 1, doc_rows.stop)
        kinds = self.store.sentence_kinds(rows)
        blocks_of = self.store.sentence_blocks(rows)
        items: list[Candidate] = []
        blocks = {int(self.store.sentence_blocks([lead_in.sentence])[0])}
        for row, kind, block in zip(rows, kinds, blocks_of):
            if len(items) >= 6 or kind == "heading":
                break
            if kind == "sentence" and int(block) not in blocks:
                blocks.add(int(block))
                items.append(by_row.get(row) or self._candidate(row, lead_in.score))
        return items

    def _candidate(self, row: int, score: float) -> Candidate:
        rec = self.store.sentences([row])[0]
        return Candidate(row, rec.doc_idx, score, rec.text)
