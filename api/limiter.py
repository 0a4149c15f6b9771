"""Moving-window rate limits on the storage `GROUNDEDQA_RATE_LIMIT_STORAGE` names.

`memory://` (the default) keeps the counters in this process, which is right for one process.
Several replicas share them through Redis (`redis://host:6379/0`), with the `limits` library's
own async storage (redis-py's asyncio client), so a client sending through every replica is
limited as one client and no request thread waits on the network: the checks run in the event
loop. When the shared storage cannot be reached the counters fall back to this process's memory
(logged, at most once a minute), so a Redis outage keeps patients answered and still limited per
replica, rather than turning every question into a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem
from limits import strategies as sync_strategies
from limits.aio import storage as aio_storage
from limits.aio import strategies as aio_strategies
from limits.errors import ConfigurationError, StorageError
from limits.storage import MemoryStorage, storage_from_string

from groundedqa.errors import CliError

log = logging.getLogger("groundedqa.ratelimit")

#: Redis must answer within this or the check falls back to memory: a slow Redis must not slow
#: every answer.
REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 60.0

T = TypeVar("T")


class RateLimiter:
    """`hit`, `test`, `reset_time` on the shared storage, or on memory while it is unreachable."""

    def __init__(self, storage_url: str = "memory://") -> None:
        self.storage_url = storage_url
        # Always there: the memory:// storage itself, or the fallback of a shared one.
        self._local = sync_strategies.MovingWindowRateLimiter(MemoryStorage())
        self._shared = None if _is_memory(storage_url) else \
            aio_strategies.MovingWindowRateLimiter(_shared_storage(storage_url))
        self._warned_at = -_WARN_EVERY_SECONDS

    async def hit(self, item: RateLimitItem, key: str) -> bool:
        """Count one request; False when it is over the limit."""
        return await self._either(lambda shared: shared.hit(item, key),
                                  lambda: self._local.hit(item, key))

    async def test(self, item: RateLimitItem, key: str) -> bool:
        """True when one more request would be within the limit (nothing is counted)."""
        return await self._either(lambda shared: shared.test(item, key),
                                  lambda: self._local.test(item, key))

    async def reset_time(self, item: RateLimitItem, key: str) -> float:
        """When (epoch seconds) the window frees a request for `key`."""

        async def shared_reset(shared: aio_strategies.MovingWindowRateLimiter) -> float:
            return (await shared.get_window_stats(item, key)).reset_time

        return await self._either(shared_reset,
                                  lambda: self._local.get_window_stats(item, key).reset_time)

    async def _either(self, shared: Callable[[aio_strategies.MovingWindowRateLimiter], Awaitable[T]],
                      local: Callable[[], T]) -> T:
        """The shared storage's answer, or this process's while the shared one is unreachable."""
        if self._shared is not None:
            try:
                return await shared(self._shared)
            except StorageError as exc:
                self._fell_back(exc)
        return local()

    def _fell_back(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = now
            log.error("rate-limit storage %s unreachable (%s): counting in this process's memory "
                      "until it is back", _redacted(self.storage_url), exc.storage_error)


def check_storage_url(url: str) -> None:
    """Raise a one-line CliError naming the setting when `url` is no storage `limits` can use."""
    if not _is_memory(url):
        _shared_storage(url)


def _is_memory(url: str) -> bool:
    return url.strip().lower().startswith("memory://")


def _shared_storage(url: str) -> aio_storage.Storage:
    scheme = url.split("://", 1)[0].lower()
    if not scheme.startswith("redis"):
        raise CliError(f"GROUNDEDQA_RATE_LIMIT_STORAGE={_redacted(url)!r}: use memory:// or a "
                       "redis:// URL (redis://host:6379/0, rediss://, redis+unix://)")
    options = {"socket_timeout": REDIS_TIMEOUT_SECONDS,
               "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
    try:
        # The "async+" scheme picks the asyncio storage; redis-py is the client installed.
        return storage_from_string("async+" + url, implementation="redispy",
                                   wrap_exceptions=True, **options)
    except (ConfigurationError, ValueError) as exc:
        raise CliError(f"GROUNDEDQA_RATE_LIMIT_STORAGE={_redacted(url)!r} is not usable "
                       f"({exc})") from exc


def _redacted(url: str) -> str:
    """The URL without a password (redis://:secret@host -> redis://:***@host)."""
    head, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    auth, _, host = rest.rpartition("@")
    user = auth.split(":", 1)[0]
    return f"{head}{sep}{user}:***@{host}"
