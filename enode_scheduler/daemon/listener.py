"""The public listener's limits: whoever can reach the webhook route must not take the daemon
down. Slow or idle connections are closed, open connections are capped well below the file
limit (so the database and Enode always get descriptors), and refusals are logged at most once
per interval."""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger()

# Descriptors kept for everything but the listener: database pool, Enode and price clients,
# log files, the SQLite lock.
RESERVED_FDS = 256
LOG_INTERVAL_S = 60.0


def connection_cap(configured: int) -> int:
    """`configured`, but never more than half of what the soft file limit leaves over."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(16, min(configured, (soft - RESERVED_FDS) // 2))


class _Throttle:
    """Counts events; says when one more line is due (the first, then once per interval)."""

    def __init__(self) -> None:
        self.count = 0
        self._logged = -LOG_INTERVAL_S

    def due(self) -> bool:
        self.count += 1
        now = time.monotonic()
        if now - self._logged >= LOG_INTERVAL_S:
            self._logged = now
            return True
        return False


def guarded_h11(*, max_connections: int, header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a connection cap and a deadline for each request's headers.

    uvicorn's keep-alive timer stops at the first byte, so a client sending half a header would
    hold its connection for ever; here the headers must be complete `header_timeout_s` after the
    connection opens (or after the previous response).
    """
    refused, slow = _Throttle(), _Throttle()

    class Guarded(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                if refused.due():
                    log.warning(
                        "api_connections_refused", open=len(self.connections) - 1,
                        limit=max_connections, refused_total=refused.count,
                    )  # fmt: skip
                transport.abort()
                return
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not None and self.cycle is not before:
                self._disarm()  # a request's headers are complete

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection has the same deadline

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if slow.due():
                log.info(
                    "api_slow_connections_closed", timeout_s=header_timeout_s,
                    closed_total=slow.count,
                )  # fmt: skip
            self.transport.abort()

    return Guarded


def throttle_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio reports every failed accept (EMFILE under a flood): one line per interval."""
    previous = loop.get_exception_handler()
    accept_errors = _Throttle()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "accept" in str(context.get("message", "")):
            if accept_errors.due():
                log.warning(
                    "api_accept_failed", error=str(context.get("exception")),
                    failures_total=accept_errors.count,
                )  # fmt: skip
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
