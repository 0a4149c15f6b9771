"""Every published version of every document, so a citation made last month still resolves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select, update

from groundedqa.index.records import StoredDocument
from groundedqa.state.tables import document_versions as T
from groundedqa.state.tables import now, utc


@dataclass(frozen=True)
class DocumentVersion:
    """One version of a document: its cleaned text and metadata as a build published them."""

    doc_id: str
    version: str
    title: str
    text: str
    metadata: dict[str, Any]
    references: list[str]
    build_id: str
    published_at: datetime
    retired_at: datetime | None

    @property
    def live(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True)
class VersionInfo:
    """A version without its text (for listings)."""

    doc_id: str
    version: str
    title: str
    build_id: str
    published_at: datetime
    retired_at: datetime | None


class DocumentVersions:
    """Versions by (doc id, content hash); a version retires when a build no longer has it."""

    def __init__(self, engine: Engine, retention_days: int) -> None:
        self.engine = engine
        self.retention = timedelta(days=retention_days)

    def record_published(self, build_id: str, docs: Iterable[StoredDocument]) -> int:
        """Record the documents of a newly published build; retire versions it dropped.

        Returns how many versions were new. Idempotent: recording the same build twice changes
        nothing.
        """
        stamp = now()
        docs = list(docs)
        with self.engine.begin() as db:
            known = {(r.doc_id, r.version): r.retired_at
                     for r in db.execute(select(T.c.doc_id, T.c.version, T.c.retired_at))}
            live_now = {(d.doc_id, d.content_hash) for d in docs}
            fresh = [d for d in docs if (d.doc_id, d.content_hash) not in known]
            if fresh:
                db.execute(insert(T), [{
                    "doc_id": d.doc_id, "version": d.content_hash, "title": d.title,
                    "text": d.text, "doc_metadata": d.metadata,
                    "doc_references": list(d.references), "build_id": build_id,
                    "published_at": stamp, "retired_at": None,
                } for d in fresh])
            for key, retired in known.items():
                if key in live_now and retired is not None:  # an old version published again
                    db.execute(update(T).where(_key(*key)).values(retired_at=None))
                elif key not in live_now and retired is None:
                    db.execute(update(T).where(_key(*key)).values(retired_at=stamp))
            db.execute(delete(T).where(T.c.retired_at < stamp - self.retention))
        return len(fresh)

    def get(self, doc_id: str, version: str) -> DocumentVersion | None:
        """A version still retained (live, or retired within the retention period), else None."""
        query = select(T).where(_key(doc_id, version), or_(
            T.c.retired_at.is_(None), T.c.retired_at >= now() - self.retention))
        with self.engine.connect() as db:
            row = db.execute(query).first()
        if row is None:
            return None
        return DocumentVersion(
            doc_id=row.doc_id, version=row.version, title=row.title, text=row.text,
            metadata=row.doc_metadata, references=row.doc_references, build_id=row.build_id,
            published_at=utc(row.published_at), retired_at=utc(row.retired_at),
        )

    def history(self, doc_id: str | None = None) -> list[VersionInfo]:
        """Retained versions (of one document, or all), oldest first."""
        query = select(T.c.doc_id, T.c.version, T.c.title, T.c.build_id, T.c.published_at,
                       T.c.retired_at).order_by(T.c.doc_id, T.c.published_at)
        query = query.where(or_(T.c.retired_at.is_(None),
                                T.c.retired_at >= now() - self.retention))
        if doc_id is not None:
            query = query.where(T.c.doc_id == doc_id)
        with self.engine.connect() as db:
            return [VersionInfo(r.doc_id, r.version, r.title, r.build_id, utc(r.published_at),
                                utc(r.retired_at)) for r in db.execute(query)]


def _key(doc_id: str, version: str):
    return and_(T.c.doc_id == doc_id, T.c.version == version)
