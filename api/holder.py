"""Keeps the live Service and swaps in a newly published index build without a failed request."""

from __future__ import annotations

import logging
import threading
import time

from groundedqa.answer.redflags import RedFlagConfig, RedFlagError, load_redflags
from groundedqa.index.batching import with_batching
from groundedqa.index.builds import BuildLease, IndexUnavailable, current_build_id
from groundedqa.index.encoders import load_encoder
from groundedqa.index.ports import Encoder
from groundedqa.service import Service
from groundedqa.settings import Settings

log = logging.getLogger("groundedqa.index")

#: A build that failed to load is tried again only this long after (or when CURRENT changes):
#: a corrupt build must not be re-read, and the failure logged, every few seconds.
RETRY_FAILED_SECONDS = 60.0


class ServiceHolder:
    """The service requests use now. A request takes a reference once and keeps it, so a swap
    never changes the index under a request; the old build's files stay readable while in use.

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
        self.last_error: str | None = None
        self._failed_id: str | None = None
        self._retry_failed_at = 0.0
        self._fallback_redflags: RedFlagConfig | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            encoder = load_encoder(self.settings, threads=self.settings.query_threads, serving=True)
            self._encoder = with_batching(encoder, self.settings)
        return self._encoder

    def get(self) -> Service | None:
        """The live service (None until an index loads); looks for a newer build now and then."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.settings.reload_check_seconds
            if self._should_load(now):
                if self._service is None:
                    self.reload()  # nothing to serve yet: load in this request
                else:
                    self._reload_in_background()
        return self._service

    def _reload_in_background(self) -> None:
        threading.Thread(target=self.reload, daemon=True).start()

    def _should_load(self, now: float) -> bool:
        try:
            current = current_build_id(self.settings.index)
        except IndexUnavailable as exc:
            current = None
            if self.last_error != str(exc):
                self.last_error = str(exc)
                log.error("%s; still serving the previous build", exc)
        if current is None or current == self._loaded_id:
            return False
        return current != self._failed_id or now >= self._retry_failed_at

    def reload(self) -> None:
        """Load the build CURRENT names; on failure keep serving the previous one."""
        if not self._loading.acquire(blocking=False):
            return
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
            self._service, self._loaded_id = service, service.build_id
            # The old build's lease ends: requests still on it keep their open files.
            lease, self._lease, previous = None, lease, self._lease
            _release(previous)
            self.last_error, self._failed_id = None, None
            log.info("serving index build %s", service.build_id)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the previous build serving
            self.last_error = str(exc) if isinstance(exc, (IndexUnavailable, RedFlagError)) \
                else f"index build {build_id} could not be loaded ({type(exc).__name__})"
            self._failed_id = build_id
            self._retry_failed_at = time.monotonic() + RETRY_FAILED_SECONDS
            log.error("index build not loaded, still serving the previous one: %s", self.last_error)
        finally:
            _release(lease)
            self._loading.release()

    def _take_lease(self, build_id: str) -> BuildLease | None:
        try:
            return BuildLease(self.settings.index, build_id)
        except OSError as exc:  # a read-only index folder: serve without protection from pruning
            log.warning("no lease on index build %s (%s): a prune may remove it while served",
                        build_id, exc)
            return None

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


def _release(lease: BuildLease | None) -> None:
    if lease is not None:
        lease.release()
