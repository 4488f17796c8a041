"""The uvicorn server that serves the API app inside the daemon's event loop when `[api] listen`
is set. The routes, /healthz, /readyz and /metrics included, are the API's (`api/routes/`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from enode_scheduler.daemon.listener import connection_cap, guarded_h11
from enode_scheduler.exceptions import ConfigError


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handlers: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(
    app: FastAPI, listen: str, *, max_connections: int = 512, header_timeout_s: float = 5.0
) -> uvicorn.Server:
    """A uvicorn server for `HOST:PORT` (port 0 picks a free one); run it with `serve()`.

    Hardened for a public address (`listener.guarded_h11`): at most `max_connections` open (less
    when the file limit is low), request headers within `header_timeout_s`.
    """
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
        http=guarded_h11(
            max_connections=connection_cap(max_connections), header_timeout_s=header_timeout_s
        ),
        timeout_keep_alive=max(1, round(header_timeout_s)),
    )
    return _Server(config)


def bound_port(server: uvicorn.Server) -> int | None:
    """The port the server listens on once started (useful with port 0)."""
    for srv in getattr(server, "servers", []):
        for sock in srv.sockets:
            return int(sock.getsockname()[1])
    return None
