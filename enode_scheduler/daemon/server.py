"""The uvicorn server that serves the API app inside the daemon's event loop when `[api] listen`
is set. The routes, /healthz, /readyz and /metrics included, are the API's (`api/routes/`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from enode_scheduler.exceptions import ConfigError


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handlers: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: FastAPI, listen: str) -> uvicorn.Server:
    """A uvicorn server for `HOST:PORT` (port 0 picks a free one); run it with `serve()`."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError([f"api.listen: expected HOST:PORT, got {listen!r}"])
    config = uvicorn.Config(
        app,
        host=host.strip("[]") or "127.0.0.1",
        port=int(port),
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    return _Server(config)


def bound_port(server: uvicorn.Server) -> int | None:
    """The port the server listens on once started (useful with port 0)."""
    for srv in getattr(server, "servers", []):
        for sock in srv.sockets:
            return int(sock.getsockname()[1])
    return None
