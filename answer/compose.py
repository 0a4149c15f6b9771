"""Compose: the typed Answer, each quoted sentence with its citation, red flags always."""

from __future__ import annotations

from typing import Protocol

from groundedqa.answer.redflags import RedFlagConfig
from groundedqa.answer.triage import TriageResult
from groundedqa.answer.types import (
    Answer,
    AnswerBlock,
    AnswerSentence,
    Candidate,
    Citation,
    Coverage,
    Query,
)
from groundedqa.index.ports import SentenceStore


class Composer(Protocol):
    """Builds the response from the selected sentences and the safety decisions."""

    def compose(self, query: Query, selected: list[Candidate], triage: TriageResult,
                coverage: Coverage) -> Answer: ...


class CitedComposer:
    """Verbatim sentences with numbered citations to their exact spans; the seek-care message
    first when urgent; the clinic's red flags and disclaimer on every answer."""

    def __init__(self, store: SentenceStore, redflags: RedFlagConfig, build_id: str) -> None:
        self.store = store
        self.redflags = redflags
        self.build_id = build_id
        self._meta: dict[int, tuple[str, str | None, str | None]] = {}

    def compose(self, query: Query, selected: list[Candidate], triage: TriageResult,
                coverage: Coverage) -> Answer:
        records = self.store.sentences([c.sentence for c in selected])
        score_of = {c.sentence: c.score for c in selected}
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        blocks: list[tuple[str, str, list[AnswerSentence]]] = []
        for n, rec in enumerate(records, start=1):
            title, url, version = self._doc_meta(rec.doc_idx)
            citations.append(Citation(n, rec.doc_id, title, url, rec.text, rec.start, rec.end,
                                      round(score_of[rec.idx], 4), version, page=rec.page))
            sentence = AnswerSentence(rec.text, (n,))
            sentences.append(sentence)
            if not blocks or blocks[-1][0] != rec.doc_id:
                blocks.append((rec.doc_id, title, []))
            blocks[-1][2].append(sentence)
        abstained = not sentences
        flags = self.redflags
        parts = []
        if triage.urgent:
            parts.append(flags.seek_care_message)
        if abstained:
            parts.append(flags.abstain_message)
        else:
            parts.append(" ".join(f"{s.text} [{s.citations[0]}]" for s in sentences))
        return Answer(
            question=query.asked,
            urgent=triage.urgent,
            urgent_message=flags.seek_care_message if triage.urgent else None,
            abstained=abstained,
            message=flags.abstain_message if abstained else None,
            answer="\n\n".join(parts),
            sentences=tuple(sentences),
            citations=tuple(citations),
            blocks=tuple(AnswerBlock(d, t, tuple(s)) for d, t, s in blocks),
            red_flags=tuple(flags.payload(query.withheld)),
            disclaimer=flags.disclaimer,
            index=self.build_id,
            confidence=round(coverage.confidence, 4) if not abstained else 0.0,
        )

    def _doc_meta(self, doc_idx: int) -> tuple[str, str | None, str | None]:
        if doc_idx not in self._meta:
            rec = self.store.document(self.store.doc_ids[doc_idx])
            self._meta[doc_idx] = ((rec.title, rec.metadata.get("url"), rec.content_hash) if rec
                                   else ("", None, None))
        return self._meta[doc_idx]
