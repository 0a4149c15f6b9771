"""The builder lock: at most one admin build at a time across every replica of a clinic.

On PostgreSQL it is a session-level advisory lock, held on one connection for the whole build:
the database ends it when that connection ends, so a replica killed mid-build frees it at once.
On SQLite (one machine by construction) it is an OS file lock in the index root, which the
kernel likewise drops with the process. Whoever holds the lock is the only builder, so changes it
finds marked `building` were left by a builder that died: it may requeue them (see
`ChangeQueue.requeue_orphans`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("groundedqa.admin")

#: The advisory lock's key (advisory locks are per database: one clinic's state, one key).
#: Any fixed 64-bit number works; this one spells "gqabuild".
ADVISORY_KEY = 0x6771616275696C64
#: The file beside CURRENT that builders lock when the state store is SQLite (apart from the
#: `.lock` a build takes while it writes, which `groundedqa ingest` takes too).
LOCK_FILE = ".builder.lock"


@contextmanager
def builder_lock(engine: Engine, index_dir: Path) -> Iterator[bool]:
    """Try to become the builder, without waiting: yields True while this process holds the
    lock, False when another process does (then do nothing: it builds)."""
    if engine.url.get_backend_name() == "postgresql":
        with _advisory_lock(engine) as held:
            yield held
        return
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_FILE), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[bool]:
    # Autocommit: the lock is the session's, not a transaction's, so the connection is never
    # left idle in a transaction for the minutes a build takes.
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": ADVISORY_KEY}))
    except BaseException:
        connection.close()
        raise
    try:
        yield held
    finally:
        try:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
        except SQLAlchemyError:
            # The connection broke: the server ended the session and the lock with it. Never
            # hand this connection back to the pool still believing it holds the lock.
            log.warning("builder lock: connection lost before unlock (the lock ended with it)")
            connection.invalidate()
        finally:
            connection.close()
