"""Select: which sentences the answer quotes, grouped by article, in each article's reading order.

Section-first. The best section is the one holding the best sentence; it quotes the sentences
whose scores stand as close to its best as the evidence allows (a band that is a share of the
gap between the best sentence and the background, so a sentence that clearly answers alone is
quoted alone). Every quoted sentence brings what it needs to be read:

* a list item comes whole, with its label, and with the lead-in that introduces its list;
* a lead-in ("Steer clear of:") comes with the items the question needs, or not at all;
* a sentence that points back ("Then ...", "These ...", "However ...") brings its antecedent.

Another article is quoted, as its own block after the first, only when its best section
answers nearly as well on its own. Nothing is added to reach a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Protocol

from groundedqa.answer.structure import DocLayout, StructureReader, is_lead_in
from groundedqa.answer.types import AnswerTuning, Candidate, Query
from groundedqa.index.ports import SentenceStore

#: Span kinds that may be shown: sentences, and labels riding with their item's first sentence.
_SHOWN = frozenset({"sentence", "label"})


class Selector(Protocol):
    """The sentences to quote, in the order they are shown."""

    def select(self, query: Query, candidates: list[Candidate]) -> list[Candidate]: ...


@dataclass
class _Excerpt:
    """The rows one article contributes, and their scores."""

    doc_idx: int
    section: range
    scores: dict[int, float] = field(default_factory=dict)

    def sentences(self, layout: DocLayout) -> int:
        return sum(1 for r in self.scores if layout.kind(r) == "sentence")


class SectionSelector:
    """Section-first selection with structure kept (see the module doc)."""

    def __init__(self, store: SentenceStore, tuning: AnswerTuning,
                 structure: StructureReader | None = None) -> None:
        self.store = store
        self.tuning = tuning
        self.structure = structure or StructureReader(store)

    def select(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        if not candidates:
            return []
        t = self.tuning
        background = median(c.score for c in candidates)
        by_section: dict[tuple[int, int], list[Candidate]] = {}
        for c in candidates:  # best first, so each list is too
            by_section.setdefault((c.doc_idx, c.section), []).append(c)
        rank = {key: members[0].score + t.retrieval_weight * members[0].retrieval
                for key, members in by_section.items()}
        ranked = sorted(by_section, key=lambda key: -rank[key])  # stable: ties keep sentence order
        best = rank[ranked[0]]
        excerpts: list[_Excerpt] = []
        room = query.limit
        for key in ranked:
            doc_idx, members = key[0], by_section[key]
            if excerpts and (len(excerpts) >= t.max_articles or rank[key] < best - t.other_article_margin):
                break
            if any(e.doc_idx == doc_idx for e in excerpts):
                continue
            excerpt = self._excerpt(members, background, room, first=not excerpts)
            if excerpt.scores:
                excerpts.append(excerpt)
                room -= excerpt.sentences(self.structure.layout(doc_idx))
            if room <= 0:
                break
        return [Candidate(row, e.doc_idx, score, self.structure.layout(e.doc_idx).text(row), e.section.start)
                for e in excerpts for row, score in sorted(e.scores.items())]

    # -- one article ------------------------------------------------------------------------------
    def _excerpt(self, members: list[Candidate], background: float, room: int, first: bool) -> _Excerpt:
        """The rows of one section that answer, each with what it needs, within `room` sentences."""
        layout = self.structure.layout(members[0].doc_idx)
        section = self.store.section(members[0].sentence)
        score_of = {c.sentence: c.score for c in members}
        top = members[0].score
        band = max(self.tuning.min_band, self.tuning.band_share * (top - background))
        excerpt = _Excerpt(members[0].doc_idx, section)
        for cand in members:
            if cand.score < top - band:
                break
            unit = self._unit(layout, section, cand.sentence, score_of, background)
            if not unit:
                continue
            new = {r: score_of.get(r, cand.score) for r in unit if r not in excerpt.scores}
            added = sum(1 for r in new if layout.kind(r) == "sentence")
            if added > room:
                if first and not excerpt.scores:  # the best sentence is always quoted
                    excerpt.scores.update({r: new.get(r, cand.score) for r in _least(layout, cand.sentence, unit)})
                    return excerpt
                continue
            excerpt.scores.update(new)
            room -= added
            if room <= 0:
                break
        return excerpt

    def _unit(self, layout: DocLayout, section: range, row: int, score_of: dict[int, float],
              background: float) -> list[int]:
        """`row` with everything it needs to be read; empty for a lead-in no needed item follows."""
        if is_lead_in(layout.text(row)):
            rows = [row, *self._needed_items(layout, row, score_of, background)]
            if len(rows) == 1:
                return []
        else:
            rows = _own(layout, row)
            lead = layout.lead_in(row)
            if lead is not None and layout.label(row) is None:
                # "Progressive motor weakness" means nothing without "Stop ... if you develop:";
                # a labelled item ("Pecs: Lie down ...") says what it is itself.
                rows.insert(0, lead)
        for r in list(rows):
            rows.extend(a for a in layout.antecedents(r, section) if a not in rows)
        return sorted(r for r in set(rows) if r in section and layout.kind(r) in _SHOWN)

    def _needed_items(self, layout: DocLayout, lead_in: int, score_of: dict[int, float],
                      background: float) -> list[int]:
        """The rows of the items a lead-in introduces that the question needs: those scoring as
        close to the best item as the band allows (all of them when the question asks about the
        whole list, one when it names one item); none when even the best is background."""
        items = layout.items(lead_in)
        scores = [max((score_of.get(r, float("-inf")) for r in item), default=float("-inf"))
                  for item in items]
        if not items or max(scores) <= background:
            return []
        best = max(scores)
        band = max(self.tuning.min_band, self.tuning.band_share * (best - background))
        return [r for item, score in zip(items, scores) if score >= best - band for r in item]


def _least(layout: DocLayout, row: int, unit: list[int]) -> list[int]:
    """What is quoted of a unit when even it does not fit the request's limit: the sentence
    itself with its label, or for a lead-in the first item it would have brought."""
    if is_lead_in(layout.text(row)):
        row = next((r for r in unit if r > row and layout.kind(r) == "sentence"), row)
    label = layout.label(row)
    return [label, row] if label is not None else [row]


def _own(layout: DocLayout, row: int) -> list[int]:
    """A sentence with its item: a list item's whole block (label and every sentence), else itself."""
    return layout.block_rows(row) if layout.is_item(row) else [row]

