"""`/healthz`, `/readyz` and `/metrics`: what an orchestrator and Prometheus ask the daemon.

The daemon keeps the state behind them (readiness, counters) and passes it in as two callables,
so the routes live with the rest of the API and the daemon only serves the app.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

__all__ = ["MetricsFn", "ReadyFn", "health_routers"]

ReadyFn = Callable[[], tuple[bool, dict[str, object]]]
MetricsFn = Callable[[], str]


def health_routers(*, ready: ReadyFn, metrics: MetricsFn) -> tuple[APIRouter, APIRouter]:
    """(/healthz + /readyz, /metrics): `create_api` serves the first without a token and guards
    the second when `[api] metrics_require_token` is set."""
    public, guarded = APIRouter(), APIRouter()

    @public.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok\n")

    @public.get("/readyz")
    async def readyz() -> Response:
        ok, detail = ready()
        return JSONResponse({"ready": ok, **detail}, status_code=200 if ok else 503)

    @guarded.get("/metrics")
    async def prometheus() -> Response:
        return PlainTextResponse(metrics(), media_type="text/plain; version=0.0.4")

    return public, guarded
