"""Serving the sim over real HTTP on loopback, in-process (`run_sim`) or as a program."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from enode_scheduler.clock import Clock, SystemClock
from enode_scheduler.sim import (
    routes_chargers,
    routes_control,
    routes_misc,
    routes_oauth,
    routes_vehicles,
)
from enode_scheduler.sim.config import SimConfig
from enode_scheduler.sim.problems import problem
from enode_scheduler.sim.state import SimState


def build_app(state: SimState) -> Starlette:
    """The ASGI app of the fake Enode API around `state`."""
    routes = [
        *routes_oauth.routes(),
        *routes_vehicles.routes(),
        *routes_chargers.routes(),
        *routes_misc.routes(),
        *routes_control.routes(),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_problem})
    app.state.sim = state
    return app


async def _http_problem(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return problem(status, f"{request.method} {request.url.path}: {getattr(exc, 'detail', '')}")


@dataclass
class RunningSim:
    """A sim serving on loopback: where to reach it, and `state` to steer it in-process."""

    state: SimState
    host: str
    port: int

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.api_url + "/oauth2/token"

    @property
    def authorize_url(self) -> str:
        return self.api_url + "/oauth2/auth"

    @property
    def control_url(self) -> str:
        return self.api_url + "/_sim"

    @property
    def client_id(self) -> str:
        return self.state.config.client_id

    @property
    def client_secret(self) -> str:
        return self.state.config.client_secret

    def ready_info(self) -> dict[str, Any]:
        """The keys of the ready line the `sim` command prints."""
        info: dict[str, Any] = {
            "api_url": self.api_url,
            "token_url": self.token_url,
            "authorize_url": self.authorize_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "control_url": self.control_url,
            "users": sorted(self.state.users),
            "vehicles": len(self.state.vehicles),
            "seed": self.state.config.seed,
            "sim_now": self.state.now().astimezone(UTC).isoformat(),
        }
        clock = self.state.clock
        for key in ("start", "speed", "anchor_unix"):
            value = getattr(clock, key, None)
            if value is not None:
                info[f"clock_{key}"] = value.isoformat() if isinstance(value, datetime) else value
        return info


class _QuietServer(uvicorn.Server):
    """uvicorn for embedding: no signal handlers, and no fixed 0.1 s ticks at start and stop.

    Stock uvicorn polls for exit every 0.1 s and sleeps another 0.1 s while shutting down;
    a test suite that starts a sim per test would spend most of its time there.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stop_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        await self.on_tick(0)
        await self.stop_requested.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        for _ in range(_SHUTDOWN_POLLS):
            if not self.server_state.tasks:
                break
            await asyncio.sleep(0.01)
        for task in self.server_state.tasks:
            task.cancel()


_SHUTDOWN_POLLS = 100


def _listen(host: str, port: int) -> socket.socket:
    # An explicit IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections; without
    # it every answer waits ~40 ms for Nagle and delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def run_sim(
    config: SimConfig | None = None,
    *,
    clock: Clock | None = None,
) -> AsyncIterator[RunningSim]:
    """Serve a sim on the current event loop until the block exits.

    `config.port` 0 picks a free port. The sim reads time only from `clock` (default: the
    wall clock). Installs no signal handlers: the embedding program owns those.
    """
    config = config or SimConfig()
    state = SimState(config, clock or SystemClock())
    sock = _listen(config.host, config.port)
    server = _QuietServer(
        uvicorn.Config(
            build_app(state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            # The gateway stamps Date with sim time, consistent with HTTP-date Retry-After.
            date_header=False,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the sim server stopped before it started")
            await asyncio.sleep(0.01)
        yield RunningSim(state, config.host, sock.getsockname()[1])
    finally:
        state.shutdown.set()
        await state.firehose.close()
        server.should_exit = True
        server.stop_requested.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
