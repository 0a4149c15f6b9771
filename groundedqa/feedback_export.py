"""`groundedqa report feedback`: the patients' helpful / not helpful as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

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
                         "comment": _cell(row["comment"]), "question": _cell(row["question"])})
    return buffer.getvalue()


def _cell(text: str | None) -> str:
    # A patient's words starting with = + - @ would run as a formula in a spreadsheet.
    if not text:
        return ""
    return "'" + text if text[0] in "=+-@\t\r" else text
