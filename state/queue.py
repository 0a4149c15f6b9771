"""The admin build queue: corpus changes waiting for (or included in) an index build.

A change is `pending` until a builder claims every pending change at once (`building`, with the
replica's name as `owner`), so changes arriving during a build wait together for the next one;
the build marks them `done` with its build id, or `failed` with the reason. Only the holder of the
builder lock (`state/lock.py`) claims, so `building` changes it finds are orphans of a builder
that died, and it alone requeues them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from groundedqa.state.tables import admin_changes as C
from groundedqa.state.tables import now, utc

PENDING, BUILDING, DONE, FAILED = "pending", "building", "done", "failed"


@dataclass(frozen=True)
class Change:
    change_id: int
    doc_id: str
    action: str
    version: str | None
    status: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    build_id: str | None
    error: str | None
    owner: str | None = None

    def to_dict(self) -> dict:
        return {"change": self.change_id, "doc_id": self.doc_id, "action": self.action,
                "version": self.version, "status": self.status,
                "requested_at": _iso(self.requested_at), "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at), "build": self.build_id,
                "error": self.error, "owner": self.owner}


class ChangeQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, doc_id: str, action: str, version: str | None) -> Change:
        """Queue one change (the corpus folder already holds it)."""
        with self.engine.begin() as db:
            change_id = db.execute(insert(C).values(
                doc_id=doc_id, action=action, version=version, status=PENDING,
                requested_at=now())).inserted_primary_key[0]
        return self.get(change_id)

    def get(self, change_id: int) -> Change | None:
        with self.engine.connect() as db:
            row = db.execute(select(C).where(C.c.change_id == change_id)).first()
        return _change(row) if row else None

    def claim(self, owner: str | None = None) -> list[Change]:
        """Mark every pending change as building by `owner` and return them (empty: nothing
        to build). Call it holding the builder lock."""
        with self.engine.begin() as db:
            ids = [r.change_id for r in db.execute(
                select(C.c.change_id).where(C.c.status == PENDING).with_for_update())]
            if not ids:
                return []
            # The status condition again: another builder may have claimed some meanwhile.
            db.execute(update(C).where(C.c.change_id.in_(ids), C.c.status == PENDING)
                       .values(status=BUILDING, started_at=now(), owner=owner))
        return self._where(C.c.change_id.in_(ids), C.c.status == BUILDING)

    def finish(self, changes: list[Change], build_id: str | None, error: str | None = None) -> None:
        """Close claimed changes: done in `build_id`, or failed with `error`."""
        if not changes:
            return
        with self.engine.begin() as db:
            db.execute(update(C).where(C.c.change_id.in_([c.change_id for c in changes]))
                       .values(status=FAILED if error else DONE, finished_at=now(),
                               build_id=build_id, error=error))

    def requeue_orphans(self) -> int:
        """Changes left `building` by a builder that stopped mid-build go back to pending.

        Only for the holder of the builder lock: while another replica holds it, its `building`
        changes are in progress, not orphaned.
        """
        with self.engine.begin() as db:
            return db.execute(update(C).where(C.c.status == BUILDING)
                              .values(status=PENDING, started_at=None, owner=None)).rowcount

    def pending(self) -> list[Change]:
        return self._where(C.c.status == PENDING)

    def building(self) -> list[Change]:
        return self._where(C.c.status == BUILDING)

    def last_error(self) -> Change | None:
        """The latest finished change, if it failed (a later success clears the error)."""
        with self.engine.connect() as db:
            row = db.execute(select(C).where(C.c.status.in_([DONE, FAILED]))
                             .order_by(C.c.finished_at.desc(), C.c.change_id.desc())).first()
        return _change(row) if row is not None and row.status == FAILED else None

    def _where(self, *conditions) -> list[Change]:
        with self.engine.connect() as db:
            rows = db.execute(select(C).where(*conditions).order_by(C.c.change_id))
            return [_change(r) for r in rows]


def _change(row) -> Change:
    return Change(row.change_id, row.doc_id, row.action, row.version, row.status,
                  utc(row.requested_at), utc(row.started_at), utc(row.finished_at), row.build_id,
                  row.error, row.owner)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
