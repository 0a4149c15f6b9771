"""The clinic's content operations: put or delete a document, build what is queued, report status;
withdraw a document at once and restore it.

One implementation for both edges: the admin API (`api/admin.py`, whose builder thread calls
`build_pending`) and `groundedqa admin` (which calls it in the foreground). A change is written to
the corpus folder, then queued in the state store; a build takes every queued change at once,
so changes made during a build are coalesced into the next one. The live index is never touched
until a complete build is published.

Any number of replicas may run builders on one clinic: only the holder of the builder lock
(`StateStore.builder_lock`: a PostgreSQL advisory lock, or a file lock in the index root with
SQLite) claims and builds, so one build runs at a time; every replica then swaps to the
published build by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from groundedqa.answer.redflags import RedFlagError, load_redflags
from groundedqa.errors import IngestError
from groundedqa.index.builds import (
    IndexUnavailable,
    builds_dir,
    current_build_id,
    open_index,
    read_manifest,
)
from groundedqa.index.withdrawals import Withdrawal, read_withdrawals
from groundedqa.index import withdrawals as withdrawal_list
from groundedqa.index.ports import Encoder, LoadedIndex
from groundedqa.ingest.corpus_edit import CorpusEditor, UnknownDocument
from groundedqa.settings import Settings
from groundedqa.state import StateStore
from groundedqa.state.queue import Change

if TYPE_CHECKING:
    from groundedqa.ingest.build import BuildReport

log = logging.getLogger("groundedqa.admin")

#: How long a build waits for another process's build of the same index to finish.
LOCK_WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class Accepted:
    """An upload written to the corpus and queued: the version a build will publish."""

    doc_id: str
    version: str
    change: Change


@dataclass(frozen=True)
class WithdrawalDone:
    """A withdraw or restore that took effect: the record, whether it changed anything, and
    notes for the operator (red flags quoting the document, a document not in the live build)."""

    withdrawal: Withdrawal
    changed: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.withdrawal.to_dict(), "changed": self.changed, "notes": self.notes}


def _build_index(*args: Any, **kwargs: Any) -> BuildReport:
    # The ingest pipeline is imported by the first build, not by every server's start.
    from groundedqa.ingest.build import build_index

    return build_index(*args, **kwargs)


class ClinicAdmin:
    """Content operations on one clinic (its settings name the corpus, index and state store)."""

    def __init__(self, settings: Settings, state: StateStore, encoder: Callable[[], Encoder],
                 *, build: Callable[..., BuildReport] | None = None) -> None:
        self.settings = settings
        self.state = state
        self.corpus = CorpusEditor(settings)
        self._encoder = encoder
        self._build = build or _build_index
        self.owner = settings.replica_name()

    def put(self, doc_id: str, file_name: str, data: bytes,
            fields: dict[str, str | None]) -> Accepted:
        """Validate and store a document (raises UploadRejected, nothing changed), queue a build."""
        upload = self.corpus.validate(doc_id, file_name, data, fields)
        self.corpus.put(upload, data)
        change = self.state.changes.add(doc_id, "put", upload.version)
        return Accepted(doc_id, upload.version, change)

    def delete(self, doc_id: str) -> Change:
        """Remove a document from the corpus (UnknownDocument if absent), queue a build."""
        self.corpus.delete(doc_id)
        return self.state.changes.add(doc_id, "delete", None)

    def withdraw(self, doc_id: str, reason: str, by: str) -> WithdrawalDone:
        """Stop quoting `doc_id` at once, on every server reading this index; recorded (who,
        when, why) so that no later ingest serves it again until `restore`. UnknownDocument when
        the live build does not hold it. No build, no model: the index root's withdrawal list is
        what every request checks."""
        live = self._live_versions()
        if doc_id not in live:
            raise UnknownDocument(f"no document {doc_id!r} in the live index build (see "
                                  "`groundedqa admin list`)")
        record, changed = withdrawal_list.withdraw(self.settings.index, doc_id, reason, by)
        notes = [] if changed else [f"already withdrawn on {record.at} by {record.by}"]
        if changed:
            notes += self._log("withdraw", record, live.get(doc_id))
        notes += self._quoting_redflags(doc_id)
        return WithdrawalDone(record, changed, notes)

    def restore(self, doc_id: str, by: str) -> WithdrawalDone:
        """Serve a withdrawn document again (WithdrawalError when it is not withdrawn)."""
        record = withdrawal_list.restore(self.settings.index, doc_id)
        live = self._live_versions()
        notes = self._log("restore", Withdrawal(doc_id, record.reason, by, record.at),
                          live.get(doc_id))
        if doc_id not in live:
            notes.append(f"{doc_id!r} is not in the live index build: ingest its file to serve it")
        return WithdrawalDone(record, True, notes)

    def withdrawn(self) -> dict[str, Withdrawal]:
        """The documents withdrawn now, by id."""
        return read_withdrawals(self.settings.index)

    def _live_versions(self) -> dict[str, str]:
        # The manifest alone (no checksum pass over the build): withdrawing must be instant.
        build_id = current_build_id(self.settings.index)
        if build_id is None:
            return {}
        return read_manifest(builds_dir(self.settings.index) / build_id).get("documents", {})

    def _log(self, action: str, record: Withdrawal, version: str | None) -> list[str]:
        try:
            self.state.withdrawals.record(record.doc_id, action, record.by,
                                         reason=record.reason if action == "withdraw" else None,
                                         version=version)
        except Exception as exc:  # noqa: BLE001 - the withdrawal stands; say what was not kept
            log.error("%s of %s not recorded in the state store: %s", action, record.doc_id, exc)
            return [f"done, but not recorded in the state store's history: {exc}"]
        return []

    def _quoting_redflags(self, doc_id: str) -> list[str]:
        try:
            flags = load_redflags(self.settings.redflags_path()).red_flags
        except RedFlagError:
            return []
        return [f"red flag {flag.text[:60]!r} quotes {doc_id!r}: it is still shown with every "
                f"answer, as the clinic's own text without its citation; review "
                f"{self.settings.redflags_path()}" for flag in flags if flag.doc_id == doc_id]

    def build_pending(self) -> list[Change]:
        """Build the corpus if changes are queued and no other process is building; return the
        changes this build took (empty: nothing queued, or another builder has the lock and
        will take them).

        A failed build marks its changes failed with the reason (the live index stays); their
        files are in the corpus, so the next build includes them anyway.
        """
        with self.state.builder_lock(Path(self.settings.index)) as builder:
            if not builder:
                return []
            # The lock is ours, so no build runs anywhere: `building` changes are orphans of a
            # builder that died mid-build.
            orphans = self.state.changes.requeue_orphans()
            if orphans:
                log.warning("requeued %d changes an interrupted build had claimed", orphans)
            changes = self.state.changes.claim(self.owner)
            if not changes:
                return []
            return self._build_claimed(changes)

    def _build_claimed(self, changes: list[Change]) -> list[Change]:
        try:
            report = self.build_corpus()
        except Exception as exc:  # noqa: BLE001 - reported in the status, the server goes on
            log.error("build of queued changes failed: %s", exc)
            self.state.changes.finish(changes, None, error=f"{type(exc).__name__}: {exc}")
            return changes
        self.state.changes.finish(changes, report.build_id)
        log.info("admin build %s published (%d changes)", report.build_id, len(changes))
        return changes

    def build_corpus(self) -> BuildReport:
        """Build the corpus folder into the index, recording the published document versions.

        Waits while another process builds the same index (its build lock is held).
        """
        index_dir = Path(self.settings.index)
        record_live_versions(self.settings, self.state)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            _wait_for_lock(index_dir, deadline)
            try:
                # The corpus folder is the truth: a deleted document leaves the index.
                return self._build([self.settings.corpus], index_dir, self.settings,
                                   embedder=self._encoder(), sync=True,
                                   on_publish=self.state.versions.record_published)
            except IngestError as exc:
                if "another ingest" not in str(exc) or time.monotonic() > deadline:
                    raise

    def status(self, serving: str | None) -> dict[str, Any]:
        """`{live, building, pending, last_error}` (+ the published build, which a server
        serves within moments)."""
        changes = self.state.changes
        # Read in the order a change moves (pending -> building -> published): read the other
        # way, a change claimed between two reads was in neither list and the status read as
        # settled while the build had just begun.
        pending = changes.pending()
        building = changes.building()
        published = current_build_id(self.settings.index)
        failed = changes.last_error()
        return {
            "live": serving,
            "published": published,
            "building": ({"changes": [c.to_dict() for c in building],
                          "since": min(c.started_at for c in building).isoformat(timespec="seconds"),
                          "by": building[0].owner}
                         if building else None),
            "pending": [c.to_dict() for c in pending],
            "last_error": failed.error if failed else None,
        }

    def documents(self, index: LoadedIndex | None) -> list[dict[str, Any]]:
        """Every document: the live one (version, file format, counts, when it was published),
        skipped ones and why, the retained earlier versions, and queued changes."""
        live = {d["doc_id"]: d for d in index.store.documents()} if index else {}
        skipped = index.manifest.get("skipped", {}) if index else {}
        history: dict[str, list] = {}
        for info in self.state.versions.history():
            history.setdefault(info.doc_id, []).append({
                "version": info.version, "title": info.title, "build": info.build_id,
                "published_at": info.published_at.isoformat(timespec="seconds"),
                "retired_at": info.retired_at.isoformat(timespec="seconds") if info.retired_at else None,
            })
        withdrawn = self.withdrawn()
        pending: dict[str, list] = {}
        for change in self.state.changes.pending() + self.state.changes.building():
            pending.setdefault(change.doc_id, []).append(change.to_dict())
        rows = []
        for doc_id in sorted(set(live) | set(skipped) | set(history) | set(pending) | set(withdrawn)):
            doc = live.get(doc_id)
            source = doc.get("source") if doc else skipped.get(doc_id, {}).get("source")
            current = [v for v in history.get(doc_id, []) if v["retired_at"] is None]
            rows.append({
                "doc_id": doc_id,
                "title": doc["title"] if doc else (history.get(doc_id) or [{}])[-1].get("title"),
                "live": doc is not None,
                "version": doc["content_hash"] if doc else None,
                "format": Path(source).suffix.lstrip(".").lower() or None if source else None,
                "metadata": doc["metadata"] if doc else {},
                "pages": doc.get("pages", 0) if doc else 0,
                "passages": doc["passages"] if doc else 0,
                "sentences": doc["sentences"] if doc else 0,
                "updated": current[-1]["published_at"] if current else None,
                "skipped": skipped[doc_id]["reason"] if doc_id in skipped else None,
                "versions": history.get(doc_id, []),
                "pending": pending.get(doc_id, []),
                "withdrawn": withdrawn[doc_id].to_dict() if doc_id in withdrawn else None,
            })
        return rows


def record_live_versions(settings: Settings, state: StateStore) -> None:
    """Record the live build's document versions if they are not yet (an index built before
    the state store existed), so that the next build retires them instead of losing them."""
    try:
        index = open_index(settings.index)
    except IndexUnavailable:
        return
    try:
        recorded = {(v.doc_id, v.version) for v in state.versions.history() if v.retired_at is None}
        hashes = index.manifest.get("documents", {})
        if all((doc_id, version) in recorded for doc_id, version in hashes.items()):
            return
        docs = [index.store.document(doc_id) for doc_id in hashes]
        state.versions.record_published(index.build_id, [d for d in docs if d is not None])
    finally:
        index.close()


def _wait_for_lock(index_dir: Path, deadline: float) -> None:
    """Block until no other process holds the index's build lock (or the deadline passes)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
    except Timeout:
        return  # build_index reports the busy index itself
    lock.release()
