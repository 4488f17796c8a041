"""The daemon's HTTP API (FastAPI): link users, manage plans, explain schedules, take webhooks;
the operator's web page (`web/`) at `/`.

`create_api` builds the app; the daemon serves it with uvicorn inside its own event loop when
`[api] listen` is set; `wiring.api_for` passes the health and metrics routes in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, Depends, FastAPI

from enode_scheduler import __version__
from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.api.limits import BodyLimit
from enode_scheduler.api.problems import install_problem_handlers
from enode_scheduler.api.routes.locations import location_router
from enode_scheduler.api.routes.sites import site_router
from enode_scheduler.api.routes.users import callback_router, user_router
from enode_scheduler.api.routes.vehicles import vehicle_router
from enode_scheduler.api.routes.webhooks import webhook_router
from enode_scheduler.api.web.routes import install_web
from enode_scheduler.config import ApiSettings

__all__ = ["WEBHOOK_PATH", "ApiDeps", "create_api"]

WEBHOOK_PATH = "/webhooks/enode"


def create_api(
    deps: ApiDeps,
    settings: ApiSettings,
    *,
    webhook_secret: str | None = None,
    public_routers: Sequence[APIRouter] = (),
    metrics_router: APIRouter | None = None,
) -> FastAPI:
    """Build the API app.

    `public_routers` (e.g. /healthz, /readyz) are served without a token; `metrics_router` needs
    a read token when `settings.metrics_require_token`. Without `webhook_secret` the webhook route
    is not served at all, since unsigned deliveries cannot be trusted.
    """
    app = FastAPI(
        title="enode-scheduler",
        version=__version__,
        description="Smart-charging scheduler for EVs on the Enode API.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.api_deps = deps
    install_problem_handlers(app)
    tokens = TokenTable(settings.tokens)
    # Operational endpoints stay out of the API document: they are not for integrators.
    for router in public_routers:
        app.include_router(router, include_in_schema=False)
    if metrics_router is not None:
        guard = [Depends(tokens.require("read"))] if settings.metrics_require_token else []
        app.include_router(metrics_router, dependencies=guard, include_in_schema=False)
    app.include_router(user_router(tokens))
    app.include_router(vehicle_router(tokens))
    app.include_router(location_router(tokens))
    app.include_router(site_router(tokens))
    app.include_router(callback_router())
    if webhook_secret:
        app.include_router(webhook_router(webhook_secret))
    install_web(app, deps, tokens, refresh_s=settings.web_refresh_s)
    app.add_middleware(BodyLimit, limit_for=_limits(settings))
    return app


def _limits(settings: ApiSettings) -> Callable[[str], int]:
    def limit_for(path: str) -> int:
        if path == WEBHOOK_PATH:
            return settings.webhook_max_body_bytes
        return settings.max_body_bytes

    return limit_for
