"""Withdrawn documents: the clinic's "stop quoting this article now", kept in the index root.

`DIR/WITHDRAWN` (JSON) names every withdrawn document with who withdrew it, when and why. It
lives beside `CURRENT`, so every server process reading the index sees it, on this machine or on
another one sharing the folder, and it outlives builds: a withdrawn document may stay inside the
builds (a later ingest of its file keeps it there), but no answer quotes it and no document route
serves it until it is restored. Withdrawing and restoring need no build, no model and no restart.

The file is replaced atomically (write, fsync, rename) under its own lock, never the ingest's
build lock, so a withdrawal never waits for a build. A request checks it with one open + fstat
(a new inode after each rename; an open also revalidates a network file system's cached
attributes) and reads it only when it changed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType

from filelock import FileLock

from groundedqa.index.builds import write_atomically

WITHDRAWN = "WITHDRAWN"
_LOCK = ".withdrawn.lock"
_FORMAT = 1

log = logging.getLogger("groundedqa.index")


class WithdrawalError(ValueError):
    """The withdrawal file is unreadable, or a withdraw/restore cannot be done (message says why)."""


class NotWithdrawn(WithdrawalError):
    """A restore names a document that is not withdrawn."""


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawn document: who withdrew it, when (UTC, ISO 8601) and why."""

    doc_id: str
    reason: str
    by: str
    at: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def withdrawal_path(index_dir: Path) -> Path:
    return Path(index_dir) / WITHDRAWN


def read_withdrawals(index_dir: Path) -> dict[str, Withdrawal]:
    """The withdrawn documents by id (empty when nothing was ever withdrawn)."""
    try:
        raw = withdrawal_path(index_dir).read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise WithdrawalError(f"{withdrawal_path(index_dir)} is unreadable ({exc})") from exc
    return _parse(raw, withdrawal_path(index_dir))


def withdraw(index_dir: Path, doc_id: str, reason: str, by: str) -> tuple[Withdrawal, bool]:
    """Withdraw `doc_id`; returns its record and whether it was newly withdrawn (an already
    withdrawn document keeps its first record). Effective when this returns."""
    with _locked(index_dir):
        current = read_withdrawals(index_dir)
        if doc_id in current:
            return current[doc_id], False
        record = Withdrawal(doc_id, reason.strip(), by,
                            datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _write(index_dir, {**current, doc_id: record})
        return record, True


def restore(index_dir: Path, doc_id: str) -> Withdrawal:
    """Serve `doc_id` again; returns the withdrawal that ended (WithdrawalError if none)."""
    with _locked(index_dir):
        current = read_withdrawals(index_dir)
        if doc_id not in current:
            raise NotWithdrawn(f"document {doc_id!r} is not withdrawn")
        record = current.pop(doc_id)
        _write(index_dir, current)
        return record


class WithdrawalWatch:
    """The withdrawn set as requests see it: `current()` costs one open + fstat, and reads the
    file again only when it was replaced. Shared by threads."""

    def __init__(self, index_dir: Path | None) -> None:
        self.path = withdrawal_path(index_dir) if index_dir is not None else None
        self._key: tuple[int, ...] | None = None
        self._snapshot: Mapping[str, Withdrawal] = MappingProxyType({})
        self._lock = threading.Lock()

    def current(self) -> Mapping[str, Withdrawal]:
        """The withdrawn documents now (a read-only mapping; do not keep it across requests)."""
        if self.path is None:
            return self._snapshot
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._key, self._snapshot = None, MappingProxyType({})
            return self._snapshot
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            if key != self._key:
                with self._lock:
                    if key != self._key:
                        self._reload(fd, st.st_size, key)
        finally:
            os.close(fd)
        return self._snapshot

    def _reload(self, fd: int, size: int, key: tuple[int, ...]) -> None:
        chunks, left = [], size
        while left > 0:
            chunk = os.pread(fd, left, size - left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        try:
            parsed = _parse(b"".join(chunks), self.path)
        except WithdrawalError as exc:
            # Never un-withdraw because of a bad edit: the last good list stays in force.
            log.error("%s; the previous withdrawal list stays in force", exc)
            self._key = key
            return
        self._snapshot, self._key = MappingProxyType(parsed), key


def _parse(raw: bytes, path: Path | None) -> dict[str, Withdrawal]:
    try:
        data = json.loads(raw.decode("utf-8"))
        entries = data["withdrawn"]
        return {doc_id: Withdrawal(doc_id, str(e["reason"]), str(e["by"]), str(e["at"]))
                for doc_id, e in entries.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WithdrawalError(f"{path} is malformed ({type(exc).__name__}: {exc}); it is written "
                              "by `groundedqa withdraw` and `groundedqa restore` only") from exc


def _write(index_dir: Path, records: Mapping[str, Withdrawal]) -> None:
    body = {"format": _FORMAT, "withdrawn": {
        doc_id: {"reason": r.reason, "by": r.by, "at": r.at} for doc_id, r in sorted(records.items())}}
    write_atomically(withdrawal_path(index_dir), json.dumps(body, indent=2, ensure_ascii=False) + "\n")


def _locked(index_dir: Path) -> FileLock:
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(index_dir) / _LOCK), timeout=30)
