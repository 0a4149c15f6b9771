"""Dynamic micro-batching: questions that arrive together share one forward pass.

A server answers each request on its own thread; each asks the encoder for one question's vector.
`BatchingEncoder` queues those calls and a single worker thread encodes whatever has queued — up
to `max_batch` texts — in one call of the wrapped encoder. A lone question never waits (unless
`max_wait_s` asks it to wait for company); under load, the questions that arrive while the model
runs form the next batch, so the model runs fewer, fuller passes.

Only for encoders whose vectors do not depend on their batch (`batch_invariant`): then no answer
changes. An int8 model quantises activations by the whole batch's range, so it is never batched.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

from groundedqa.index.ports import Encoder

if TYPE_CHECKING:
    from groundedqa.settings import Settings

log = logging.getLogger("groundedqa.index")


class BatchingEncoder:
    """An Encoder that merges concurrent `encode` calls into batched calls of `inner`."""

    def __init__(self, inner: Encoder, max_batch: int = 32, max_wait_s: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.inner = inner
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.passes = 0  # forward passes run (batches), for benchmarks and tests
        self._queue: queue.SimpleQueue[tuple[list[str], Future] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="encoder-batcher", daemon=True)
        self._worker.start()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def encode(self, texts: list[str]) -> np.ndarray:
        """The inner encoder's vectors of `texts`, computed in a pass shared with other callers."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        done: Future = Future()
        self._queue.put((list(texts), done))
        return done.result()

    def close(self) -> None:
        """Stop the worker once the calls already queued are answered."""
        self._queue.put(None)
        self._worker.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            self._encode(batch)
            if stop:
                return

    def _gather(self, first: tuple[list[str], Future]) -> tuple[list[tuple[list[str], Future]], bool]:
        """`first` and the calls queued after it, up to `max_batch` texts and `max_wait_s`."""
        batch, size = [first], len(first[0])
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_batch:
            try:
                remaining = deadline - time.monotonic()
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            size += len(item[0])
        return batch, False

    def _encode(self, batch: list[tuple[list[str], Future]]) -> None:
        texts = [t for texts, _ in batch for t in texts]
        try:
            vectors = self.inner.encode(texts)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error
            for _, done in batch:
                done.set_exception(exc)
            return
        self.passes += 1
        row = 0
        for item_texts, done in batch:
            done.set_result(vectors[row:row + len(item_texts)])
            row += len(item_texts)


def with_batching(encoder: Encoder, settings: Settings) -> Encoder:
    """`encoder` behind micro-batching when `batch_max` > 1 and batching cannot change a vector."""
    if settings.batch_max <= 1:
        return encoder
    if not getattr(encoder, "batch_invariant", False):
        log.warning("micro-batching is off: the %s encoder's vectors depend on their batch",
                    settings.encoder)
        return encoder
    return BatchingEncoder(encoder, settings.batch_max, settings.batch_wait_ms / 1000)
