"""The state store's tables (SQLAlchemy Core): what the migrations build, in portable types.

Times are stored in UTC. SQLite hands them back without a zone, so readers pass them through
`utc()`. JSON columns are SQLAlchemy's portable JSON (TEXT on SQLite, JSON on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: Every published version of every document: the cleaned text citations index into.
document_versions = Table(
    "document_versions", metadata,
    Column("doc_id", String(255), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("doc_metadata", JSON, nullable=False),
    Column("doc_references", JSON, nullable=False),
    Column("build_id", String(64), nullable=False),  # the first build that published it
    Column("published_at", DateTime(timezone=True), nullable=False),
    # When it stopped being live (replaced or deleted); retention counts from here.
    Column("retired_at", DateTime(timezone=True), nullable=True, index=True),
)

#: One small record per answered question, so that feedback arriving later knows what was cited.
answers = Table(
    "answers", metadata,
    Column("answer_id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("build_id", String(64), nullable=False),
    Column("abstained", Boolean, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("confidence", Float, nullable=True),
    Column("citations", JSON, nullable=False),  # [{id, doc_id, doc_version, start, end}]
    Column("question", Text, nullable=True),  # only when the clinic opted in; redacted
)

#: A patient's helpful / not helpful on one answer (the latest click counts).
feedback = Table(
    "feedback", metadata,
    Column("answer_id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("comment", Text, nullable=True),  # redacted
    Column("build_id", String(64), nullable=False),
    Column("abstained", Boolean, nullable=False),
    Column("confidence", Float, nullable=True),
    Column("citations", JSON, nullable=False),
    Column("question", Text, nullable=True),
)

#: Topics of questions the articles did not cover: a unit centroid and how many joined it.
gap_topics = Table(
    "gap_topics", metadata,
    Column("topic_id", Integer, primary_key=True, autoincrement=True),
    Column("centroid", LargeBinary, nullable=False),  # float32, unit length
    Column("size", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: One abstained or low-confidence question: its topic and time, its text only when opted in.
gaps = Table(
    "gaps", metadata,
    Column("gap_id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # "abstained" | "low_confidence"
    Column("build_id", String(64), nullable=False),
    Column("topic_id", Integer, ForeignKey("gap_topics.topic_id"), nullable=False, index=True),
    Column("confidence", Float, nullable=True),
    Column("question", Text, nullable=True),
)

#: Admin changes to the corpus, waiting for (or included in) an index build.
admin_changes = Table(
    "admin_changes", metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("doc_id", String(255), nullable=False),
    Column("action", String(10), nullable=False),  # "put" | "delete"
    Column("version", String(64), nullable=True),
    Column("status", String(10), nullable=False, index=True),  # pending|building|done|failed
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("build_id", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("owner", String(255), nullable=True),  # the replica building it (hostname:pid)
)

#: Withdrawals and restorations of documents, newest last: who, when, why (the live list is the
#: index root's WITHDRAWN file; this is its history, kept with the clinic's records).
document_withdrawals = Table(
    "document_withdrawals", metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("doc_id", String(255), nullable=False, index=True),
    Column("action", String(10), nullable=False),  # "withdraw" | "restore"
    Column("reason", Text, nullable=True),
    Column("actor", String(255), nullable=False),
    Column("version", String(64), nullable=True),  # the live version when it happened
    Column("at", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    """The current time in UTC (what every column stores)."""
    return datetime.now(timezone.utc)


def utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite returns them naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)
