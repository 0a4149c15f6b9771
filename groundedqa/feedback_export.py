"""`groundedqa report feedback`: the patients' helpful / not helpful as CSV or JSON, and the
summary the console charts (by article, by week, the comments)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from groundedqa.gap_report import week_range, week_start
from groundedqa.state.feedback import FeedbackRecord

COLUMNS = ("answer_id", "created_at", "updated_at", "helpful", "comment", "build", "abstained",
           "confidence", "cited_documents", "citations", "question")


def feedback_rows(records: list[FeedbackRecord]) -> list[dict[str, Any]]:
    """One plain row per feedback; citations as `[{id, doc_id, doc_version, start, end}]`."""
    return [{
        "answer_id": r.answer_id,
        "created_at": r.created_at.isoformat(timespec="seconds"),
        "updated_at": r.updated_at.isoformat(timespec="seconds"),
        "helpful": r.helpful,
        "comment": r.comment,
        "build": r.build_id,
        "abstained": r.abstained,
        "confidence": r.confidence,
        "cited_documents": sorted({c["doc_id"] for c in r.citations}),
        "citations": r.citations,
        "question": r.question,
    } for r in records]


def to_json(records: list[FeedbackRecord]) -> str:
    return json.dumps(feedback_rows(records), ensure_ascii=False, indent=2) + "\n"


def to_csv(records: list[FeedbackRecord]) -> str:
    """Spreadsheet-ready: cited documents joined by ';', the citations as a JSON cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in feedback_rows(records):
        writer.writerow({**row, "cited_documents": ";".join(row["cited_documents"]),
                         "citations": json.dumps(row["citations"], separators=(",", ":")),
                         "comment": spreadsheet_cell(row["comment"]), "question": spreadsheet_cell(row["question"])})
    return buffer.getvalue()


def spreadsheet_cell(text: str | None) -> str:
    # A patient's words starting with = + - @ would run as a formula in a spreadsheet.
    if not text:
        return ""
    return "'" + text if text[0] in "=+-@\t\r" else text


def feedback_summary(records: list[FeedbackRecord], titles: dict[str, str]) -> dict[str, Any]:
    """Helpful / not helpful overall, per cited article (an answer citing two articles counts
    for both; abstentions under `doc_id` None), per week, and the feedback that carries words
    (a comment, or the question when the clinic stores question text), newest first."""
    helpful = sum(r.helpful for r in records)
    by_doc: dict[str | None, Counter] = {}
    for r in records:
        for doc_id in sorted({c["doc_id"] for c in r.citations}) or [None]:
            by_doc.setdefault(doc_id, Counter())[r.helpful] += 1
    weeks = week_range([r.created_at for r in records])
    by_week = {w: Counter() for w in weeks}
    for r in records:
        by_week[week_start(r.created_at)][r.helpful] += 1
    rows = {row["answer_id"]: row for row in feedback_rows(records)}
    worded = [rows[r.answer_id] for r in reversed(records) if r.comment or r.question]
    return {
        "total": len(records),
        "helpful": helpful,
        "not_helpful": len(records) - helpful,
        "by_article": sorted((
            {"doc_id": doc_id, "title": titles.get(doc_id, doc_id) if doc_id else None,
             "helpful": counts[True], "not_helpful": counts[False]}
            for doc_id, counts in by_doc.items()),
            key=lambda a: (-(a["helpful"] + a["not_helpful"]), a["doc_id"] or "")),
        "by_week": [{"week": w.isoformat(), "helpful": c[True], "not_helpful": c[False]}
                    for w, c in by_week.items()],
        "comments": worded,
    }
