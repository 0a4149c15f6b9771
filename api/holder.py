"""Keeps the live Service and swaps in a newly published index build without a failed request."""

from __future__ import annotations

import logging
import threading
import time

from groundedqa.answer.redflags import RedFlagConfig, RedFlagError, load_redflags
from groundedqa.index.builds import IndexUnavailable, current_build_id
from groundedqa.index.batching import with_batching
from groundedqa.index.encoders import load_encoder
from groundedqa.index.ports import Encoder
from groundedqa.service import Service
from groundedqa.settings import Settings

log = logging.getLogger("groundedqa.index")


class ServiceHolder:
    """The service requests use now. A request takes a reference once and keeps it, so a swap
    never changes the index under a request; the old build's files stay readable while in use."""

    def __init__(self, settings: Settings, service: Service | None = None,
                 encoder: Encoder | None = None) -> None:
        self.settings = settings
        self._service = service
        self._encoder = encoder or (service.encoder if service else None)
        self._loaded_id = service.build_id if service else None
        self._next_check = 0.0
        self._loading = threading.Lock()
        self.last_error: str | None = None
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
            if current_build_id(self.settings.index) != self._loaded_id:
                if self._service is None:
                    self.reload()  # nothing to serve yet: load in this request
                else:
                    threading.Thread(target=self.reload, daemon=True).start()
        return self._service

    def reload(self) -> None:
        """Load the build CURRENT names; on failure keep serving the previous one."""
        if not self._loading.acquire(blocking=False):
            return
        try:
            build_id = current_build_id(self.settings.index)
            if build_id is None or build_id == self._loaded_id:
                return
            service = Service.load(self.settings, encoder=self.encoder)
            self._service, self._loaded_id = service, service.build_id
            self.last_error = None
            log.info("serving index build %s", service.build_id)
        except (IndexUnavailable, RedFlagError) as exc:
            self.last_error = str(exc)
            log.error("index build not loaded, still serving the previous one: %s", exc)
        finally:
            self._loading.release()

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
