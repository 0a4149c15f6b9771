"""Compose: the typed Answer, each quoted sentence with its citation, red flags always."""

from __future__ import annotations

from dataclasses import replace
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
from groundedqa.index.records import SentenceRecord


class Composer(Protocol):
    """Builds the response from the selected sentences and the safety decisions."""

    def compose(self, query: Query, selected: list[Candidate], triage: TriageResult,
                coverage: Coverage) -> Answer: ...


class CitedComposer:
    """Verbatim sentences with numbered citations to their exact spans; the clinic's red flags
    and disclaimer on every answer.

    An urgent answer leads with the seek-care message and quotes, cited, the articles' own red
    flags for what the patient described (never "not covered"). A question that is not answered
    says why: the articles do not cover it, it is about medicines (ask a doctor or pharmacist),
    or it is not in English.
    """

    def __init__(self, store: SentenceStore, redflags: RedFlagConfig, build_id: str) -> None:
        self.store = store
        self.redflags = redflags
        self.build_id = build_id
        self._meta: dict[int, tuple[str, str | None, str | None]] = {}

    def compose(self, query: Query, selected: list[Candidate], triage: TriageResult,
                coverage: Coverage) -> Answer:
        if triage.urgent and coverage.reason != "language":
            return self._urgent(query, triage)
        quotes = self._quotes(selected)
        sections = self.store.sections([rec.idx for rec, _ in quotes])
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        blocks: list[tuple[str, str, str | None, list[AnswerSentence]]] = []
        for n, ((rec, score), section) in enumerate(zip(quotes, sections), start=1):
            title, url, version = self._doc_meta(rec.doc_idx)
            citations.append(Citation(n, rec.doc_id, title, url, rec.text, rec.start, rec.end,
                                      round(score, 4), version, page=rec.page, section=section))
            sentence = AnswerSentence(rec.text, (n,))
            sentences.append(sentence)
            if not blocks or blocks[-1][0] != rec.doc_id:
                blocks.append((rec.doc_id, title, section[-1] if section else None, []))
            blocks[-1][3].append(sentence)
        abstained = not sentences
        message = self._message(coverage) if abstained else None
        return self._answer(query, triage, sentences, citations, blocks, message,
                            coverage.confidence if not abstained else 0.0)

    def _message(self, coverage: Coverage) -> str:
        flags = self.redflags
        return {"medication": flags.medication_message, "language": flags.language_message,
                "followup": flags.followup_message}.get(coverage.reason or "", flags.abstain_message)

    def _urgent(self, query: Query, triage: TriageResult) -> Answer:
        """The seek-care message, then the articles' red flags for the concepts described."""
        sentences: list[AnswerSentence] = []
        citations: list[Citation] = []
        blocks: list[tuple[str, str, str | None, list[AnswerSentence]]] = []
        seen: set[str] = set()
        flags = [f for name in triage.concepts for f in self.redflags.concept_flags(name)]
        for flag in flags:
            cite = flag.citation
            # A withdrawn article is never quoted, not even for its red flags.
            if cite is None or flag.text in seen or flag.doc_id in query.withheld:
                continue
            seen.add(flag.text)
            n = len(citations) + 1
            citations.append(Citation(n, cite["doc_id"], cite["title"], cite["url"], cite["quote"],
                                      cite["start"], cite["end"], round(triage.score, 4)))
            sentence = AnswerSentence(flag.text, (n,))
            sentences.append(sentence)
            if not blocks or blocks[-1][0] != cite["doc_id"]:
                blocks.append((cite["doc_id"], cite["title"], None, []))
            blocks[-1][3].append(sentence)
        return self._answer(query, triage, sentences, citations, blocks, None, triage.score)

    def _answer(self, query: Query, triage: TriageResult, sentences: list[AnswerSentence],
                citations: list[Citation],
                blocks: list[tuple[str, str, str | None, list[AnswerSentence]]],
                message: str | None, confidence: float) -> Answer:
        flags = self.redflags
        parts = [flags.seek_care_message] if triage.urgent else []
        if message:
            parts.append(message)
        if sentences:
            parts.append(" ".join(f"{s.text} [{s.citations[0]}]" for s in sentences))
        return Answer(
            question=query.asked,
            urgent=triage.urgent,
            urgent_message=flags.seek_care_message if triage.urgent else None,
            abstained=not sentences,
            message=message,
            answer="\n\n".join(parts),
            sentences=tuple(sentences),
            citations=tuple(citations),
            blocks=tuple(AnswerBlock(d, t, tuple(s), h) for d, t, h, s in blocks),
            red_flags=tuple(flags.payload(query.withheld)),
            disclaimer=flags.disclaimer,
            index=self.build_id,
            confidence=round(float(min(1.0, max(0.0, confidence))), 4),
        )

    def _quotes(self, selected: list[Candidate]) -> list[tuple[SentenceRecord, float]]:
        """(quoted span, score) per shown sentence. A label is shown with the sentence
        after it as one quote ("Hamstrings: Sitting down ..."): label and sentence stand side by
        side in the article, so the joined span is verbatim too."""
        records = self.store.sentences([c.sentence for c in selected])
        out: list[tuple[SentenceRecord, float]] = []
        pending: SentenceRecord | None = None
        texts: dict[str, str] = {}
        for cand, rec in zip(selected, records):
            if rec.kind == "label":
                pending = rec
                continue
            if pending is not None and pending.doc_idx == rec.doc_idx and pending.idx == rec.idx - 1:
                if rec.doc_id not in texts:
                    doc = self.store.document(rec.doc_id)
                    texts[rec.doc_id] = doc.text if doc is not None else ""
                joined = texts[rec.doc_id][pending.start:rec.end]
                if joined.endswith(rec.text):
                    rec = replace(rec, start=pending.start, text=joined)
            pending = None
            out.append((rec, cand.score))
        return out

    def _doc_meta(self, doc_idx: int) -> tuple[str, str | None, str | None]:
        if doc_idx not in self._meta:
            rec = self.store.document(self.store.doc_ids[doc_idx])
            self._meta[doc_idx] = ((rec.title, rec.metadata.get("url"), rec.content_hash) if rec
                                   else ("", None, None))
        return self._meta[doc_idx]
