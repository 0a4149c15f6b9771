"""Keeps the live Pipeline and swaps in a newly published index build without a failed request."""

from __future__ import annotations

import logging
import threading
import time

from groundedqa.ingest.embed import Embedder
from groundedqa.ingest.store import IndexUnavailable, current_build_id
from groundedqa.retrieval.pipeline import Pipeline
from groundedqa.retrieval.redflags import RedFlagConfig, RedFlagError, load_redflags
from groundedqa.settings import Settings

log = logging.getLogger("groundedqa.index")


class PipelineHolder:
    """The pipeline requests use now. A request takes a reference once and keeps it, so a swap
    never changes the index under a request; the old build's files stay readable while in use."""

    def __init__(self, settings: Settings, pipeline: Pipeline | None = None,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._pipeline = pipeline
        self._embedder = embedder or (pipeline.embedder if pipeline else None)
        self._loaded_id = pipeline.store.build_id if pipeline else None
        self._next_check = 0.0
        self._loading = threading.Lock()
        self.last_error: str | None = None
        self._fallback_redflags: RedFlagConfig | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder.load(self.settings.model, self.settings.encode_batch_size)
        return self._embedder

    def get(self) -> Pipeline | None:
        """The live pipeline (None until an index loads); looks for a newer build now and then."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.settings.reload_check_seconds
            if current_build_id(self.settings.index) != self._loaded_id:
                if self._pipeline is None:
                    self.reload()  # nothing to serve yet: load in this request
                else:
                    threading.Thread(target=self.reload, daemon=True).start()
        return self._pipeline

    def reload(self) -> None:
        """Load the build CURRENT names; on failure keep serving the previous one."""
        if not self._loading.acquire(blocking=False):
            return
        try:
            build_id = current_build_id(self.settings.index)
            if build_id is None or build_id == self._loaded_id:
                return
            pipeline = Pipeline.load(self.settings, embedder=self.embedder)
            self._pipeline, self._loaded_id = pipeline, pipeline.store.build_id
            self.last_error = None
            log.info("serving index build %s", pipeline.store.build_id)
        except (IndexUnavailable, RedFlagError) as exc:
            self.last_error = str(exc)
            log.error("index build not loaded, still serving the previous one: %s", exc)
        finally:
            self._loading.release()

    def redflags(self) -> RedFlagConfig | None:
        """Red flags for any response, even before an index loads (then without citations)."""
        if self._pipeline is not None:
            return self._pipeline.redflags
        if self._fallback_redflags is None:
            try:
                self._fallback_redflags = load_redflags(self.settings.redflags_path())
            except RedFlagError as exc:
                log.error("%s", exc)
                return None
        return self._fallback_redflags
