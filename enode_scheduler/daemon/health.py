"""`/healthz`, `/readyz` and `/metrics` over HTTP when `[api] listen` is set.

A small FastAPI app served by uvicorn inside the daemon's event loop; the full API extends it
with its own routers (`app.include_router(...)`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from enode_scheduler.exceptions import ConfigError

ReadyFn = Callable[[], tuple[bool, dict[str, object]]]
MetricsFn = Callable[[], str]


def health_app(*, ready: ReadyFn, metrics: MetricsFn) -> FastAPI:
    """The endpoints an orchestrator and Prometheus need."""
    app = FastAPI(title="enode-scheduler", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok\n")

    @app.get("/readyz")
    async def readyz() -> Response:
        ok, detail = ready()
        return JSONResponse({"ready": ok, **detail}, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return PlainTextResponse(metrics(), media_type="text/plain; version=0.0.4")

    return app


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
