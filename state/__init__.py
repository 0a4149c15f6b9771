"""The clinic's records that are not the index: document versions, answer records and feedback,
coverage gaps, the admin build queue, the withdrawal history. One SQLAlchemy engine behind a URL (`GROUNDEDQA_STATE_URL`:
SQLite by default, PostgreSQL for replicas), its schema migrated by Alembic.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock
from sqlalchemy import Engine

from groundedqa.state.db import StateError, current_revision, head_revision, make_engine, upgrade
from groundedqa.state.feedback import FeedbackLog, UnknownAnswer
from groundedqa.state.gaps import GapLog
from groundedqa.state.lock import builder_lock
from groundedqa.state.queue import ChangeQueue
from groundedqa.state.versions import DocumentVersions
from groundedqa.state.withdrawals import WithdrawalLog

if TYPE_CHECKING:
    from groundedqa.settings import Settings

__all__ = ["StateError", "StateStore", "UnknownAnswer"]


class StateStore:
    """The clinic's records, one object per process, shared by threads."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.versions = DocumentVersions(engine, settings.version_retention_days)
        self.feedback = FeedbackLog(
            engine, store_text=settings.store_question_text,
            answer_retention_days=settings.answer_retention_days,
            text_retention_days=settings.question_retention_days)
        self.gaps = GapLog(engine, store_text=settings.store_question_text,
                           text_retention_days=settings.question_retention_days,
                           join_similarity=settings.gap_topic_similarity)
        self.changes = ChangeQueue(engine)
        self.withdrawals = WithdrawalLog(engine)

    @classmethod
    def open(cls, settings: Settings) -> StateStore:
        """Connect to the settings' state store. SQLite is migrated here; any other database
        must have been migrated with `groundedqa db upgrade` (StateError says so)."""
        engine = make_engine(settings.state_store_url())
        try:
            if engine.url.get_backend_name() == "sqlite":
                # Replicas on one machine start together: one migrates, the others then find
                # the schema current.
                database = engine.url.database
                if database and database != ":memory:":
                    with FileLock(f"{database}.migrate.lock", timeout=120):
                        upgrade(engine)
                else:
                    upgrade(engine)
            elif current_revision(engine) != head_revision():
                raise StateError(f"the state store {engine.url!r} is not at the current schema "
                                 f"({head_revision()}): run `groundedqa db upgrade`")
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, settings)

    def builder_lock(self, index_dir: Path) -> AbstractContextManager[bool]:
        """Become the clinic's one builder if no other process is (see `state/lock.py`)."""
        return builder_lock(self.engine, index_dir)

    def purge(self) -> None:
        """Apply the retention periods (versions prune themselves when a build is recorded)."""
        self.feedback.purge()
        self.gaps.purge()

    def close(self) -> None:
        self.engine.dispose()
