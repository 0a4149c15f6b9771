"""The history of withdrawals and restorations (the live list is the index root's WITHDRAWN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from groundedqa.state.tables import document_withdrawals as W
from groundedqa.state.tables import now, utc


@dataclass(frozen=True)
class WithdrawalEvent:
    """One withdraw or restore: who, when, why, and the document version live then."""

    doc_id: str
    action: str
    reason: str | None
    actor: str
    version: str | None
    at: datetime

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "action": self.action, "reason": self.reason,
                "by": self.actor, "version": self.version,
                "at": self.at.isoformat(timespec="seconds")}


class WithdrawalLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, doc_id: str, action: str, actor: str, *, reason: str | None = None,
               version: str | None = None) -> None:
        """Append one event (`action`: "withdraw" or "restore")."""
        with self.engine.begin() as db:
            db.execute(insert(W).values(doc_id=doc_id, action=action, reason=reason, actor=actor,
                                        version=version, at=now()))

    def history(self, doc_id: str | None = None) -> list[WithdrawalEvent]:
        """Events (of one document, or all), oldest first."""
        query = select(W).order_by(W.c.event_id)
        if doc_id is not None:
            query = query.where(W.c.doc_id == doc_id)
        with self.engine.connect() as db:
            return [WithdrawalEvent(r.doc_id, r.action, r.reason, r.actor, r.version, utc(r.at))
                    for r in db.execute(query)]
