"""Answer records and patients' feedback on them.

Each answered question leaves a small record (ids, build, citations; the question text only when
the clinic opted in), so that a helpful / not helpful arriving minutes later can be stored with
what the answer cited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from groundedqa.state.redact import redact
from groundedqa.state.tables import answers as A
from groundedqa.state.tables import feedback as F
from groundedqa.state.tables import now, utc

#: Longest comment kept (the rest is cut): feedback, not correspondence.
MAX_COMMENT_CHARS = 1000


class UnknownAnswer(LookupError):
    """Feedback names an answer id that was never recorded or whose record has expired."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One answer's feedback, with what the answer cited (the export's row)."""

    answer_id: str
    created_at: datetime
    updated_at: datetime
    helpful: bool
    comment: str | None
    build_id: str
    abstained: bool
    confidence: float | None
    citations: list[dict[str, Any]]
    question: str | None


class FeedbackLog:
    """Answer records in, feedback in, feedback out."""

    def __init__(self, engine: Engine, *, store_text: bool, answer_retention_days: int,
                 text_retention_days: int) -> None:
        self.engine = engine
        self.store_text = store_text
        self.answer_retention = timedelta(days=answer_retention_days)
        self.text_retention = timedelta(days=text_retention_days)

    def record_answer(self, answer: dict[str, Any]) -> None:
        """Keep what feedback on `answer` (the HTTP body) will need: ids, never text unless opted in."""
        self.record_answers([answer])

    def record_answers(self, answers: Sequence[dict[str, Any]]) -> None:
        """`record_answer` for several answers, in one transaction and one statement (the
        server stores the answers that queued while the previous write ran together)."""
        if not answers:
            return
        stamp = now()
        rows = [{
            "answer_id": answer["answer_id"], "created_at": stamp, "build_id": answer["index"],
            "abstained": bool(answer["abstained"]), "urgent": bool(answer["urgent"]),
            "confidence": answer.get("confidence"),
            "citations": [{key: c.get(key) for key in ("id", "doc_id", "doc_version", "start", "end")}
                          for c in answer.get("citations", [])],
            "question": redact(answer["question"]) if self.store_text else None,
        } for answer in answers]
        with self.engine.begin() as db:
            db.execute(insert(A), rows)

    def add(self, answer_id: str, helpful: bool, comment: str | None = None) -> FeedbackRecord:
        """Store (or replace: the latest click counts) the feedback on a recorded answer."""
        with self.engine.connect() as db:
            answer = db.execute(select(A).where(A.c.answer_id == answer_id)).first()
        if answer is None or utc(answer.created_at) < now() - self.answer_retention:
            raise UnknownAnswer(f"no answer with id {answer_id!r} (answers can be rated for "
                                f"{self.answer_retention.days} days)")
        comment = redact(comment.strip()[:MAX_COMMENT_CHARS]) if comment and comment.strip() else None
        stamp = now()
        values = {"helpful": helpful, "comment": comment, "updated_at": stamp}
        try:
            with self.engine.begin() as db:
                db.execute(insert(F).values(
                    answer_id=answer_id, created_at=stamp, build_id=answer.build_id,
                    abstained=answer.abstained, confidence=answer.confidence,
                    citations=answer.citations, question=answer.question, **values))
        except IntegrityError:  # feedback on this answer exists: the patient changed their mind
            with self.engine.begin() as db:
                db.execute(update(F).where(F.c.answer_id == answer_id).values(**values))
        return self.get(answer_id)

    def get(self, answer_id: str) -> FeedbackRecord:
        with self.engine.connect() as db:
            return _record(db.execute(select(F).where(F.c.answer_id == answer_id)).one())

    def export(self, since: datetime | None = None) -> list[FeedbackRecord]:
        """Every feedback record (since a time), oldest first."""
        query = select(F).order_by(F.c.created_at, F.c.answer_id)
        if since is not None:
            query = query.where(F.c.created_at >= since)
        with self.engine.connect() as db:
            return [_record(row) for row in db.execute(query)]

    def purge(self) -> None:
        """Drop expired answer records and question text past its retention."""
        stamp = now()
        with self.engine.begin() as db:
            db.execute(delete(A).where(A.c.created_at < stamp - self.answer_retention))
            for table in (A, F):
                db.execute(update(table).where(table.c.question.is_not(None),
                                               table.c.created_at < stamp - self.text_retention)
                           .values(question=None))


def _record(row: Any) -> FeedbackRecord:
    return FeedbackRecord(
        answer_id=row.answer_id, created_at=utc(row.created_at), updated_at=utc(row.updated_at),
        helpful=row.helpful, comment=row.comment, build_id=row.build_id, abstained=row.abstained,
        confidence=row.confidence, citations=list(row.citations or []), question=row.question,
    )
