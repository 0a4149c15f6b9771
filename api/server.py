"""How `groundedqa serve` runs uvicorn: timeouts for slow or stalled clients, no proxy trust,
and a drain on SIGTERM.

SIGTERM (what `docker stop`, systemd and Kubernetes send) first flips `/readyz` to 503 and keeps
serving for `GROUNDEDQA_DRAIN_SECONDS`, so a load balancer polling readiness stops sending; then
uvicorn's graceful shutdown closes the listener, lets in-flight requests finish (up to
`GROUNDEDQA_GRACEFUL_TIMEOUT_SECONDS`) and exits. A second SIGTERM, or Ctrl-C, skips the wait.

uvicorn closes idle keep-alive connections, but arms nothing for a connection that opens and
never finishes its request line and headers: a handful of such sockets would hold the server's
connections forever. `StallGuardH11Protocol` closes them after `header_timeout_seconds`. (A body
that stalls after the headers is answered 408 by `BodySizeLimitMiddleware` in protection.py, so
its client gets the service's JSON error.)
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from groundedqa.settings import Settings

log = logging.getLogger("groundedqa.server")


class StallGuardH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request line and headers are not all
    in `request_timeout` seconds after the connection opened or its last response."""

    request_timeout: float = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request on a kept-alive connection gets the same allowance.
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        # IDLE: the request line or headers are still coming. Past them a request is being
        # read or served, and the body has its own timeout in the app.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def stall_guard_protocol(timeout: float) -> type[StallGuardH11Protocol]:
    """The protocol class with `timeout` (uvicorn builds protocols from a class and its config)."""
    return type("StallGuardH11Protocol", (StallGuardH11Protocol,), {"request_timeout": timeout})


def server_config(app: Any, settings: Settings, *, host: str | None = None,
                  port: int | None = None, log_level: str = "info") -> uvicorn.Config:
    """The uvicorn configuration `groundedqa serve` runs `app` with."""
    return uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=log_level,
        # The app writes its own JSON access log (without client addresses).
        access_log=False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise; the app applies
        # GROUNDEDQA_TRUSTED_PROXIES itself (empty by default: no one is believed).
        proxy_headers=False,
        http=stall_guard_protocol(settings.header_timeout_seconds),
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_timeout_seconds,
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining for `drain_seconds` on the first SIGTERM before it shuts down."""

    def __init__(self, config: uvicorn.Config, *, drain_seconds: float,
                 on_drain: Callable[[], None]) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.on_drain = on_drain
        self._drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self._drain_until is None and not self.should_exit:
            self._captured_signals.append(sig)  # re-raised after shutdown, as uvicorn does
            self._drain_until = time.monotonic() + self.drain_seconds
            self.on_drain()
            log.warning("SIGTERM: draining, /readyz answers 503; stopping in %.1f s",
                        self.drain_seconds)
            return
        self.on_drain()
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._drain_until is not None and time.monotonic() >= self._drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


def run_server(app: Any, settings: Settings, *, host: str | None = None, port: int | None = None,
               log_level: str = "info") -> None:
    """Serve `app` (from `create_app`) until a signal; drain on SIGTERM (see the module doc)."""
    config = server_config(app, settings, host=host, port=port, log_level=log_level)
    server = DrainingServer(config, drain_seconds=settings.drain_seconds,
                            on_drain=app.state.replica.draining.set)
    server.run()
    app.state.admin_worker.stop(timeout=1.0)
