"""Keeps the live Service and swaps in a newly published index build without a failed request."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Collection
from pathlib import Path

from groundedqa.answer.redflags import RedFlagConfig, RedFlagError, load_redflags
from groundedqa.index.batching import with_batching
from groundedqa.index.builds import BuildLease, IndexUnavailable, current_build_id
from groundedqa.index.encoders import load_encoder
from groundedqa.index.ports import Encoder
from groundedqa.index.withdrawals import WITHDRAWN
from groundedqa.service import Service
from groundedqa.settings import Settings

log = logging.getLogger("groundedqa.index")

#: A build that failed to load is tried again only this long after (or when CURRENT changes):
#: a corrupt build must not be re-read, and the failure logged, every few seconds.
RETRY_FAILED_SECONDS = 60.0


class ServiceHolder:
    """The service requests use now. A request takes a reference once and keeps it, so a swap
    never changes the index under a request; the old build's files stay readable while in use.

    A newly published build (or a rollback) is noticed three ways: every request checks CURRENT
    (one open + fstat; the file is read again only when it was replaced), and a request that finds
    a new build waits up to `swap_wait_seconds` for it to load, so a request made after a publish
    returned is answered by the new build; a file-system watch on the index root (`watchfiles`,
    started with the server, see `start_watch`) loads it as soon as it is published, before any
    request asks; and CURRENT is re-read every `reload_check_seconds` whatever the file looks
    like (for file systems whose attributes or notifications lag, such as NFS).

    The holder leases the build it serves (see `BuildLease`), so an ingest in another process
    never prunes it, even when the holder keeps serving it because a newer build was refused.
    """

    def __init__(self, settings: Settings, service: Service | None = None,
                 encoder: Encoder | None = None) -> None:
        self.settings = settings
        self._service = service
        self._encoder = encoder or (service.encoder if service else None)
        self._loaded_id = service.build_id if service else None
        self._lease: BuildLease | None = None
        if service is not None:
            self._lease = self._take_lease(service.build_id)
        self._next_check = 0.0
        self._loading = threading.Lock()
        self._swapped = threading.Condition()
        self._background = False  # a background load is asked for (guarded by _swapped)
        self._in_progress = False  # some thread is loading a build (guarded by _swapped)
        self.last_error: str | None = None
        self._failed_id: str | None = None
        self._retry_failed_at = 0.0
        self._fallback_redflags: RedFlagConfig | None = None
        self._pointer = _PointerCheck(settings.index, settings.reload_check_seconds)
        self._watcher: _IndexWatcher | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            encoder = load_encoder(self.settings, threads=self.settings.query_threads, serving=True)
            self._encoder = with_batching(encoder, self.settings)
        return self._encoder

    def get(self) -> Service | None:
        """The live service (None until an index loads). When CURRENT names another build, it
        is loaded, and this request waits for it up to `swap_wait_seconds`."""
        if self._service is None:
            now = time.monotonic()
            if now >= self._next_check:  # nothing to serve yet: load in this request
                self._next_check = now + self.settings.reload_check_seconds
                if self._wanted(self._published()) is not None:
                    self.reload()
            return self._service
        target = self._wanted(self._published())
        if target is not None:
            self._reload_in_background()
            self._wait_for(target, self.settings.swap_wait_seconds)
        return self._service

    def refresh(self) -> None:
        """Load a newly published build now, in this thread (the watch calls it)."""
        if self._wanted(self._published(force=True)) is not None:
            self.reload()
        if self._service is not None:
            self._service.withdrawals.current()  # read a changed withdrawal list ahead of requests

    def _published(self, force: bool = False) -> str | None:
        try:
            return self._pointer.read(force)
        except IndexUnavailable as exc:
            if self.last_error != str(exc):
                self.last_error = str(exc)
                log.error("%s; still serving the previous build", exc)
            return None

    def _wanted(self, published: str | None) -> str | None:
        """`published` when it should be loaded: not the loaded build, not one refused lately."""
        if published is None or published == self._loaded_id:
            return None
        if published == self._failed_id and time.monotonic() < self._retry_failed_at:
            return None
        return published

    def _reload_in_background(self) -> None:
        with self._swapped:
            if self._background:
                return
            self._background = True
        threading.Thread(target=self._background_reload, daemon=True,
                         name="groundedqa-swap").start()

    def _background_reload(self) -> None:
        try:
            self.reload()
        finally:
            with self._swapped:
                self._background = False
                self._swapped.notify_all()

    def _wait_for(self, build_id: str, timeout: float) -> None:
        with self._swapped:
            self._swapped.wait_for(lambda: self._loaded_id == build_id or self._failed_id == build_id
                                   or not (self._background or self._in_progress), timeout)

    def reload(self) -> None:
        """Load the build CURRENT names; on failure keep serving the previous one."""
        if not self._loading.acquire(blocking=False):
            return
        with self._swapped:
            self._in_progress = True
        build_id = None
        lease = None
        try:
            build_id = current_build_id(self.settings.index)
            if build_id is None or build_id == self._loaded_id:
                return
            # Leased before it is read, so no prune removes it while it loads.
            lease = self._take_lease(build_id)
            service = Service.load(self.settings, encoder=self.encoder)
            if service.build_id != build_id:  # CURRENT moved on while loading
                _release(lease)
                lease = self._take_lease(service.build_id)
            with self._swapped:
                self._service, self._loaded_id = service, service.build_id
                self._swapped.notify_all()
            # The old build's lease ends: requests still on it keep their open files.
            lease, self._lease, previous = None, lease, self._lease
            _release(previous)
            self.last_error, self._failed_id = None, None
            log.info("serving index build %s", service.build_id)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the previous build serving
            self.last_error = str(exc) if isinstance(exc, (IndexUnavailable, RedFlagError)) \
                else f"index build {build_id} could not be loaded ({type(exc).__name__})"
            with self._swapped:
                self._failed_id = build_id
                self._retry_failed_at = time.monotonic() + RETRY_FAILED_SECONDS
                self._swapped.notify_all()
            log.error("index build not loaded, still serving the previous one: %s", self.last_error)
        finally:
            _release(lease)
            with self._swapped:
                self._in_progress = False
                self._swapped.notify_all()
            self._loading.release()

    def start_watch(self) -> None:
        """Watch the index root for a new CURRENT (and withdrawal list) until `stop_watch`."""
        if self._watcher is None:
            self._watcher = _IndexWatcher(self)
            self._watcher.start()

    def stop_watch(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def _take_lease(self, build_id: str) -> BuildLease | None:
        try:
            return BuildLease(self.settings.index, build_id)
        except OSError as exc:  # a read-only index folder: serve without protection from pruning
            log.warning("no lease on index build %s (%s): a prune may remove it while served",
                        build_id, exc)
            return None

    def withheld(self) -> Collection[str]:
        """Ids of the documents withdrawn now (none before an index loads)."""
        return self._service.withdrawn().keys() if self._service is not None else ()

    def redflags(self) -> RedFlagConfig | None:
        """Red flags for any response, even before an index loads (then without citations)."""
        if self._service is not None:
            return self._service.redflags
        if self._fallback_redflags is None:
            try:
                self._fallback_redflags = load_redflags(self.settings.redflags_path())
            except RedFlagError as exc:
                log.error("%s", exc)
                return None
        return self._fallback_redflags


class _PointerCheck:
    """CURRENT's build id, read again only when the file was replaced (one stat per request: each
    atomic publish makes a new inode) or every `recheck_seconds` whatever the stat says."""

    def __init__(self, index_dir: Path, recheck_seconds: float) -> None:
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / "CURRENT"
        self.recheck_seconds = recheck_seconds
        self._key: tuple[int, ...] | None = None
        self._value: str | None = None
        self._recheck_at = 0.0

    def read(self, force: bool = False) -> str | None:
        """The published build id (None: nothing published); IndexCorrupt for a bad CURRENT."""
        try:
            st = os.stat(self.path)
            key: tuple[int, ...] | None = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        now = time.monotonic()
        if not force and key == self._key and now < self._recheck_at:
            return self._value
        self._recheck_at = now + self.recheck_seconds
        try:
            value = current_build_id(self.index_dir)
        except IndexUnavailable:
            self._key, self._value = key, None  # reported once per change, not per request
            raise
        self._key, self._value = key, value
        return value


class _IndexWatcher:
    """A thread that calls `holder.refresh()` when CURRENT or WITHDRAWN changes in the index
    root (a file-system watch through `watchfiles`, the root only, not the builds below it), and
    every `reload_check_seconds` anyway; polling alone where no watch can be set up."""

    def __init__(self, holder: ServiceHolder) -> None:
        self.holder = holder
        self.index_dir = Path(holder.settings.index)
        self.poll = max(holder.settings.reload_check_seconds, 0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="groundedqa-watch")
        self.watching = False  # True while the file-system watch is set up (tests read it)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # noqa: BLE001 - no watch (no inotify, folder gone): poll
            self.watching = False
            log.warning("no file-system watch on %s (%s); polling for new builds every %.1f s",
                        self.index_dir, exc, self.poll)
        while not self._stop.wait(self.poll):
            self._refresh()

    def _watch(self) -> None:
        from watchfiles import watch

        self.index_dir.mkdir(parents=True, exist_ok=True)
        names = {"CURRENT", WITHDRAWN}
        changes = watch(self.index_dir, recursive=False, stop_event=self._stop,
                        watch_filter=lambda _change, path: os.path.basename(path) in names,
                        debounce=50, step=1, rust_timeout=int(self.poll * 1000),
                        yield_on_timeout=True, raise_interrupt=False)
        self.watching = True
        self._refresh()  # anything published before the watch was set up
        for _ in changes:  # a change, or the poll interval passed without one
            self._refresh()

    def _refresh(self) -> None:
        try:
            self.holder.refresh()
        except Exception:  # noqa: BLE001 - the watch must outlive a bad moment
            log.exception("index watch: refresh failed")


def _release(lease: BuildLease | None) -> None:
    if lease is not None:
        lease.release()
