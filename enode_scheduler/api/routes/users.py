"""User routes: start and finish the Enode link flow, and unlink."""

from __future__ import annotations

import html
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import HTMLResponse

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.deps import ApiDeps, LinkFlow
from enode_scheduler.api.models import ID_PATTERN, LinkOut, UserId
from enode_scheduler.api.problems import responses
from enode_scheduler.api.routes.vehicles import Deps
from enode_scheduler.exceptions import EnodeError, EnodeNotFound, LinkError
from enode_scheduler.records import UserRecord

__all__ = ["callback_router", "user_router"]

log = structlog.get_logger()
OAuthParam = Annotated[str | None, Query(max_length=2048)]


_HTML = {"text/html": {"schema": {"type": "string"}}}
_CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Linking failed (page says why)", "content": _HTML},
    503: {"description": "Enode is not configured", "content": _HTML},
    **responses(422),
}


def _link_flow(deps: ApiDeps) -> LinkFlow:
    if deps.link is None:
        raise HTTPException(503, "Enode is not configured, so users cannot be linked.")
    return deps.link


def user_router(tokens: TokenTable) -> APIRouter:
    """Routes under /v1/users that link and unlink users (write scope)."""
    write = [Depends(tokens.require("write"))]
    router = APIRouter(prefix="/v1", tags=["users"], responses=responses(401, 403, 422, 503))

    @router.post("/users/{user_id}/link", dependencies=write, responses=responses(502))
    async def start_link(user_id: UserId, deps: Deps) -> LinkOut:
        """Start linking the user's vehicles; send the user to `authorize_url`."""
        link = _link_flow(deps)
        if await deps.users.get_user(user_id) is None:
            await deps.users.upsert_user(UserRecord(user_id=user_id))
        session = await link.start_link(user_id)
        return LinkOut(authorize_url=session.authorize_url)

    @router.delete(
        "/users/{user_id}",
        dependencies=write,
        status_code=204,
        response_class=Response,
        responses=responses(404, 502),
    )
    async def unlink(user_id: UserId, deps: Deps) -> None:
        """Deauthorize the user at Enode and delete their tokens, vehicles and plans here."""
        if await deps.users.get_user(user_id) is None:
            raise HTTPException(404, f"No user {user_id!r} is known.")
        try:
            await _link_flow(deps).deauthorize_user(user_id)
        except EnodeNotFound:
            log.info("unlink_unknown_at_enode", user_id=user_id)  # nothing to revoke there
        await deps.users.delete_user(user_id)
        log.info("user_unlinked", user_id=user_id)

    return router


def callback_router() -> APIRouter:
    """The OAuth redirect target; a browser lands here, so it answers with a plain page."""
    router = APIRouter(tags=["users"])

    @router.get("/oauth/callback", response_class=HTMLResponse, responses=_CALLBACK_RESPONSES)
    async def oauth_callback(
        deps: Deps,
        state: OAuthParam = None,
        code: OAuthParam = None,
        error: OAuthParam = None,
        error_description: OAuthParam = None,
        user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    ) -> HTMLResponse:
        """Finish linking: check the one-time state (and `user_id` when the redirect URI
        carries it), exchange the code, store the tokens."""
        if deps.link is None:
            return _page(503, "Linking is not available", "Enode is not configured.")
        given = {
            "state": state,
            "code": code,
            "error": error,
            "error_description": error_description,
        }
        params = {k: v for k, v in given.items() if v is not None}
        try:
            linked = await deps.link.complete_link(params, user_id=user_id)
        except LinkError as exc:
            log.warning("link_failed", error=exc.error, reason=str(exc))
            return _page(400, "Linking failed", str(exc))
        log.info("link_completed", user_id=linked)
        await _discover(deps, linked)
        return _page(200, "Vehicles linked", "You can close this page.")

    return router


async def _discover(deps: ApiDeps, user_id: str) -> None:
    """Store the new user's vehicles now; on failure the daemon's polls find them later."""
    if deps.enode is None:
        return
    try:
        readings = await deps.enode.list_vehicles(user_id)
    except EnodeError as exc:
        log.warning("link_vehicles_not_read", user_id=user_id, error=type(exc).__name__)
        return
    await deps.vehicles.save_readings(readings)
    for reading in readings:
        await deps.request_replan(reading.vehicle_id)
    if deps.chargers is None:
        return
    try:
        chargers = await deps.enode.list_chargers(user_id)
    except EnodeError as exc:
        log.warning("link_chargers_not_read", user_id=user_id, error=type(exc).__name__)
        return
    # Known chargers can get plans through the API at once.
    await deps.chargers.save_charger_readings(chargers)


def _page(status: int, title: str, message: str) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)
