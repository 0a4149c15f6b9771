"""The grounded answer: verbatim sentences from the index, each cited to its exact span."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from groundedqa.ingest.store import KIND_CODES, IndexStore
from groundedqa.retrieval.redflags import RedFlagConfig
from groundedqa.retrieval.search import Retriever
from groundedqa.retrieval.triage import Triage

#: Passages whose sentences compete for the answer.
TOP_PASSAGES = 8
#: Below this cosine between the question and its best sentence, the articles do not cover it.
#: Calibrated on the tune half of eval/questions/seed.jsonl and on MedQuAD (see README).
ABSTAIN_BELOW = 0.40
#: A sentence joins the answer only if it is this close to the question ...
MIN_SENTENCE = 0.30
#: ... and within this margin of the best sentence.
MARGIN = 0.22
#: A sentence's score blends its own similarity to the question, its passage's similarity (the
#: context it stands in) and how much of the question's rarer words it contains: MiniLM alone
#: ranks "steer clear of:" above "walking, swimming ... are typically safe" for "is swimming ok?".
SENTENCE_WEIGHT, CONTEXT_WEIGHT, LEXICAL_WEIGHT = 0.55, 0.20, 0.25
#: MMR trade-off between relevance and novelty (1.0 = relevance only).
MMR_LAMBDA = 0.7
#: Sentences this similar to one already chosen are repeats, whatever their relevance.
DUPLICATE = 0.92
#: At most this many items come with a lead-in ("steer clear of:"), so one list cannot crowd
#: out the rest of the answer.
LEAD_IN_ITEMS = 3


class InvalidQuestion(ValueError):
    """The question cannot be answered as given (empty, too long, control characters)."""


@dataclass
class Candidate:
    sentence: int  # row in the build
    doc_idx: int
    score: float
    text: str


def validate_question(question: object, max_chars: int) -> str:
    """The question, stripped; InvalidQuestion with a message a patient can act on otherwise."""
    if not isinstance(question, str):
        raise InvalidQuestion("question must be a string")
    text = question.strip()
    if not text:
        raise InvalidQuestion("question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"question is too long ({len(text)} characters; the limit is {max_chars})")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in text):
        raise InvalidQuestion("question contains control characters")
    return text


class Answerer:
    """Composes answers from one index build; holds nothing per request."""

    def __init__(self, store: IndexStore, retriever: Retriever, redflags: RedFlagConfig,
                 triage: Triage, *, max_sentences: int = 5, max_question_chars: int = 1000) -> None:
        self.store = store
        self.retriever = retriever
        self.redflags = redflags
        self.triage = triage
        self.max_sentences = max_sentences
        self.max_question_chars = max_question_chars
        self._sentence_kind = store.layout["sentence_kind"]
        self._sentence_doc = store.layout["sentence_doc"]
        self._sentence_block = store.layout["sentence_block"]
        self._first = store.layout["passage_first"]
        self._last = store.layout["passage_last"]
        self._meta: dict[int, dict] = {}

    def answer(self, question: str, max_sentences: int | None = None) -> dict:
        """The response body of POST /v1/answer for `question`."""
        question = validate_question(question, self.max_question_chars)
        limit = self.max_sentences if max_sentences is None else max_sentences
        if not 1 <= limit <= 20:
            raise InvalidQuestion("max_sentences must be between 1 and 20")
        # Denied symptoms ("no numbness in my groin") would steer retrieval toward red-flag text,
        # so the one forward pass per query is spent on what is actually asked.
        query = self.triage.without_negated(question)
        vector = self.retriever.embedder.encode([query])[0]
        triage = self.triage.assess(question, vector)
        candidates = self._candidates(query, vector)
        best = candidates[0].score if candidates else 0.0
        chosen = [] if best < ABSTAIN_BELOW else self._select(candidates, limit)
        return self._body(question, chosen, triage.urgent)

    # -- selection ----------------------------------------------------------------------------
    def _candidates(self, question: str, vector: np.ndarray) -> list[Candidate]:
        hits = self.retriever.hybrid(question, vector, TOP_PASSAGES)
        if not hits:
            return []
        passage_ids = [h.passage for h in hits]
        passage_sims = np.asarray(self.store.passage_vectors[passage_ids], dtype=np.float32) @ vector
        context: dict[int, float] = {}  # sentence row -> best similarity of a passage holding it
        for passage, sim in zip(passage_ids, passage_sims):
            for row in range(int(self._first[passage]), int(self._last[passage]) + 1):
                if self._sentence_kind[row] == KIND_CODES["sentence"]:
                    context[row] = max(context.get(row, -1.0), float(sim))
        if not context:
            return []
        rows = list(context)
        vectors = np.asarray(self.store.sentence_vectors[rows], dtype=np.float32)
        own = vectors @ vector
        texts = [r.text for r in self.store.sentences(rows)]
        lexical = self.retriever.term_overlap(question, texts)
        scores = (SENTENCE_WEIGHT * own + CONTEXT_WEIGHT * np.array([context[r] for r in rows])
                  + LEXICAL_WEIGHT * lexical)
        order = np.argsort(-scores, kind="stable")
        return [Candidate(rows[i], int(self._sentence_doc[rows[i]]), float(scores[i]), texts[i])
                for i in order]

    def _select(self, candidates: list[Candidate], limit: int) -> list[Candidate]:
        """MMR over the candidates close enough to the best one; lead-ins bring their items."""
        floor = max(MIN_SENTENCE, candidates[0].score - MARGIN)
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
                picked.extend([cand, *items[:min(room, LEAD_IN_ITEMS)]])
            elif cand not in picked:
                picked.append(cand)
        # Reading order: articles by their best sentence, sentences by position in the article.
        doc_rank: dict[int, int] = {}
        for c in picked:
            doc_rank.setdefault(c.doc_idx, len(doc_rank))
        return sorted(picked, key=lambda c: (doc_rank[c.doc_idx], c.sentence))

    def _mmr(self, pool: list[Candidate], limit: int) -> list[Candidate]:
        vectors = np.asarray(self.store.sentence_vectors[[c.sentence for c in pool]], dtype=np.float32)
        chosen: list[int] = []
        while len(chosen) < min(limit, len(pool)):
            best_i, best_value = -1, -np.inf
            for i, cand in enumerate(pool):
                if i in chosen:
                    continue
                redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                if redundancy >= DUPLICATE:
                    continue
                value = MMR_LAMBDA * cand.score - (1 - MMR_LAMBDA) * redundancy
                if value > best_value:
                    best_i, best_value = i, value
            if best_i < 0:
                break
            chosen.append(best_i)
        return [pool[i] for i in chosen]

    def _items_after(self, lead_in: Candidate, by_row: dict[int, Candidate]) -> list[Candidate]:
        """The sentences a lead-in introduces: the first sentence of each following block, up to
        the next heading or the end of the article."""
        items: list[Candidate] = []
        row, blocks = lead_in.sentence + 1, {int(self._sentence_block[lead_in.sentence])}
        n = len(self._sentence_kind)
        while row < n and self._sentence_doc[row] == lead_in.doc_idx and len(items) < 6:
            kind = int(self._sentence_kind[row])
            if kind == KIND_CODES["heading"]:
                break
            block = int(self._sentence_block[row])
            if kind == KIND_CODES["sentence"] and block not in blocks:
                blocks.add(block)
                items.append(by_row.get(row) or self._candidate(row, lead_in.score))
            row += 1
        return items

    def _candidate(self, row: int, score: float) -> Candidate:
        text = self.store.sentences([row])[0].text
        return Candidate(row, int(self._sentence_doc[row]), score, text)

    # -- the response -------------------------------------------------------------------------
    def _body(self, question: str, chosen: list[Candidate], urgent: bool) -> dict:
        records = self.store.sentences([c.sentence for c in chosen])
        score_of = {c.sentence: c.score for c in chosen}
        sentences, citations = [], []
        for n, rec in enumerate(records, start=1):
            meta = self._doc_meta(rec.doc_idx)
            citations.append({
                "id": n, "doc_id": rec.doc_id, "title": meta["title"], "url": meta["url"],
                "quote": rec.text, "start": rec.start, "end": rec.end,
                "score": round(score_of[rec.idx], 4),
            })
            sentences.append({"text": rec.text, "citations": [n]})
        abstained = not sentences
        parts = []
        if urgent:
            parts.append(self.redflags.seek_care_message)
        if abstained:
            parts.append(self.redflags.abstain_message)
        else:
            parts.append(" ".join(f"{s['text']} [{s['citations'][0]}]" for s in sentences))
        return {
            "question": question,
            "urgent": urgent,
            "urgent_message": self.redflags.seek_care_message if urgent else None,
            "abstained": abstained,
            "message": self.redflags.abstain_message if abstained else None,
            "answer": "\n\n".join(parts),
            "sentences": sentences,
            "citations": citations,
            "red_flags": self.redflags.payload(),
            "disclaimer": self.redflags.disclaimer,
            "index": self.store.build_id,
        }

    def _doc_meta(self, doc_idx: int) -> dict:
        if doc_idx not in self._meta:
            rec = self.store.document(self.store.doc_ids[doc_idx])
            self._meta[doc_idx] = {"title": rec.title, "url": rec.metadata.get("url")}
        return self._meta[doc_idx]
