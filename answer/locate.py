"""Locate: score every quotable sentence of the sections the retrieved passages stand in.

Section-first: a retrieved passage points at its section, and every sentence of that section
competes, so a list item or a sentence the passage cut off is not lost. A sentence's score is

    sentence_weight x its own cosine to the question
  + context_weight  x the best cosine of a retrieved passage in its section
  + lexical_weight  x the share of the question's idf it holds
  + specific_weight x the share of the question's distinctive idf it holds
  + type_weight     x whether it has the shape of an answer to the question's type

A list item is read with its label ("Hamstrings:" + "Sitting down ... hold for 20-30 seconds"),
so the item a question names is found by the name its label gives it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from groundedqa.answer.intent import (distinctive_weights, has_answer_shape, question_type, term_incidence,
                                      weighted_share)
from groundedqa.answer.structure import StructureReader
from groundedqa.answer.types import AnswerTuning, Candidate, Query
from groundedqa.index.ports import DenseIndex, LexicalIndex, PassageHit, SentenceStore
from groundedqa.index.records import SentenceRecord

#: Sentence readings kept per locator (one build): beyond this many the cache starts afresh.
READINGS_CACHE_SIZE = 50_000


class Locator(Protocol):
    """Candidate sentences, best first."""

    def locate(self, query: Query, hits: list[PassageHit]) -> list[Candidate]: ...


@dataclass
class _Section:
    """A section the retrieved passages stand in."""

    rows: range
    cosine: float = -1.0  # the best cosine of a retrieved passage in it to the question
    retrieved: float = float("-inf")  # the best retrieval score of a passage in it


@dataclass
class _Reading:
    """How a stored sentence is read in its section, the same for every question: its text with
    its list label, that text's terms, the row it leans on (-1: none), and whether it has each
    question type's answer shape (filled as types are asked)."""

    section: range
    text: str
    terms: frozenset[str]
    leans: int
    shapes: dict[str, bool] = field(default_factory=dict)

    def fits(self, qtype: str) -> bool:
        if qtype not in self.shapes:
            self.shapes[qtype] = has_answer_shape(qtype, self.text)
        return self.shapes[qtype]


class SectionLocator:
    """Scores the quotable sentences of the retrieved passages' sections (see the module doc)."""

    def __init__(self, store: SentenceStore, dense: DenseIndex, lexical: LexicalIndex,
                 tuning: AnswerTuning, structure: StructureReader | None = None) -> None:
        self.store = store
        self.dense = dense
        self.lexical = lexical
        self.tuning = tuning
        self.structure = structure or StructureReader(store)
        # A build never changes, so each sentence is read (labelled, analysed) once, not once
        # per question that retrieves it.
        self._readings: dict[int, _Reading] = {}
        self._sections_rows: dict[range, tuple[int, ...]] = {}
        self._lock = threading.Lock()

    def locate(self, query: Query, hits: list[PassageHit]) -> list[Candidate]:
        if not hits:
            return []
        sections = self._sections(query, hits)
        rows, section_of = [], []
        for start, section in sections.items():
            quotable = self._quotable(section.rows)
            rows += quotable
            section_of += [start] * len(quotable)
        if not rows:
            return []
        records = self.store.sentences(rows)
        readings = self._read(records, [sections[s].rows for s in section_of])
        scores = self._score(query, rows, readings, [sections[s].cosine for s in section_of])
        order = np.argsort(-scores, kind="stable")
        top = max(h.score for h in hits)
        return [Candidate(rows[i], records[i].doc_idx, float(scores[i]), records[i].text, section_of[i],
                          sections[section_of[i]].retrieved - top)
                for i in order]

    def _sections(self, query: Query, hits: list[PassageHit]) -> dict[int, _Section]:
        """Section start row -> its rows, and the best cosine and retrieval score of a retrieved
        passage in it."""
        ids = [h.passage for h in hits]
        sims = self.dense.vectors(ids) @ query.vector
        out: dict[int, _Section] = {}
        for hit, sim in zip(hits, sims):
            rows = self.store.section(self.store.passage_sentences(hit.passage).start)
            section = out.setdefault(rows.start, _Section(rows))
            section.cosine = max(section.cosine, float(sim))
            section.retrieved = max(section.retrieved, hit.score)
        return out

    def _quotable(self, section: range) -> tuple[int, ...]:
        """The section's rows that are sentences (not headings or labels), worked out once."""
        rows = self._sections_rows.get(section)
        if rows is None:
            rows = tuple(row for row, kind in zip(section, self.store.sentence_kinds(section))
                         if kind == "sentence")
            with self._lock:
                if len(self._sections_rows) >= READINGS_CACHE_SIZE:
                    self._sections_rows.clear()
                self._sections_rows[section] = rows
        return rows

    def _read(self, records: list[SentenceRecord], sections: list[range]) -> list[_Reading]:
        """Each record's reading in its section, from the cache when it was read before."""
        found = [self._readings.get(rec.idx) for rec in records]
        missing = [i for i, (reading, section) in enumerate(zip(found, sections))
                   if reading is None or reading.section != section]
        if missing:
            texts = [self._with_label(records[i].doc_idx, records[i].idx, records[i].text) for i in missing]
            for i, text, terms in zip(missing, texts, self.lexical.terms(texts)):
                found[i] = _Reading(sections[i], text, frozenset(terms),
                                    self._leans_on(records[i].doc_idx, records[i].idx, sections[i]))
            with self._lock:
                if len(self._readings) + len(missing) > READINGS_CACHE_SIZE:
                    self._readings.clear()
                self._readings.update((records[i].idx, found[i]) for i in missing)
        return found  # type: ignore[return-value]

    def _with_label(self, doc_idx: int, row: int, text: str) -> str:
        layout = self.structure.layout(doc_idx)
        label = layout.label(row)
        return f"{layout.text(label)} {text}" if label is not None else text

    def _leans_on(self, doc_idx: int, row: int, section: range) -> int:
        """The sentence a row is read with: a list item's lead-in, a dependent sentence's
        antecedent; -1 when it stands alone."""
        layout = self.structure.layout(doc_idx)
        lead = layout.lead_in(row)
        if lead is not None:
            return lead
        before = [r for r in layout.antecedents(row, section) if layout.kind(r) == "sentence"]
        return before[-1] if before else -1

    def _score(self, query: Query, rows: list[int], readings: list[_Reading],
               context: list[float]) -> np.ndarray:
        t = self.tuning
        leans = [r.leans for r in readings]
        vectors = self.store.sentence_vectors(rows)
        own = vectors @ query.vector
        # A list item or a dependent sentence is also read together with what it leans on
        # ("Perform 3 sets ..." with "Start conservatively with dead-hangs:"): the sum of the two
        # vectors stands for the pair, and the better of the two readings counts.
        has = np.array([r >= 0 for r in leans], dtype=bool)
        if has.any():
            pair = vectors[has] + self.store.sentence_vectors([r for r in leans if r >= 0])
            pair /= np.maximum(np.linalg.norm(pair, axis=1, keepdims=True), 1e-6)
            own[has] = np.maximum(own[has], pair @ query.vector)
        terms = [r.terms for r in readings]
        question_terms = self.lexical.terms([query.search_text])[0]
        idf = self.lexical.idf(sorted(set(question_terms)))
        # Which sentence holds which question term, worked out once for both shares.
        held = term_incidence(list(dict.fromkeys(question_terms)), terms)
        lexical = weighted_share({q: idf.get(q, 0.0) for q in question_terms}, terms, held)
        specific = weighted_share(distinctive_weights(question_terms, idf, terms, held), terms, held)
        qtype = question_type(query.text)
        fit = np.array([1.0 if r.fits(qtype) else 0.0 for r in readings], dtype=np.float32)
        return (t.sentence_weight * own + t.context_weight * np.asarray(context, dtype=np.float32)
                + t.lexical_weight * lexical + t.specific_weight * specific + t.type_weight * fit
                - t.echo_weight * self._title_echo(rows, vectors))

    def _title_echo(self, rows: list[int], vectors: np.ndarray) -> np.ndarray:
        """Each sentence's cosine to its article's title: a sentence that restates the topic
        ("Working out with a pinched nerve in your back can be a tricky situation.") echoes
        every question about it without answering any."""
        titles = self.store.title_vectors()
        if titles is None:
            return np.zeros(len(rows), dtype=np.float32)
        # The candidates come from a handful of articles: each title is read and normalised once.
        docs, of_row = np.unique(self.store.sentence_docs(rows), return_inverse=True)
        title = np.asarray(titles[docs], dtype=np.float32)
        title /= np.maximum(np.linalg.norm(title, axis=1, keepdims=True), 1e-6)
        return np.einsum("ij,ij->i", vectors, title[of_row.reshape(-1)])

