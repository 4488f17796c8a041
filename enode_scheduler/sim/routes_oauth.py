"""The OAuth side of the sim: a token endpoint and an authorize page that needs no browser."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from enode_scheduler.sim.auth import Grant, IssuedTokens
from enode_scheduler.sim.gateway import Ctx, route

USER_SCOPES = frozenset(
    {
        "all",
        "vehicle:charge_state",
        "vehicle:information",
        "vehicle:location",
        "vehicle:odometer",
        "vehicle:smart_charging_policy",
        "control:vehicle:charging",
        "charger:charge_state",
        "charger:information",
        "control:charger:charging",
        "charging_location",
    }
)
# Asked for by clients that want a refresh token; not a data scope.
_META_SCOPES = frozenset({"offline_access", "openid"})


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _client_ok(ctx: Ctx, form: dict[str, str]) -> bool:
    client_id, secret = form.get("client_id"), form.get("client_secret")
    scheme, _, value = ctx.request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
    config = ctx.state.config
    return hmac.compare_digest(client_id or "", config.client_id) and hmac.compare_digest(
        secret or "", config.client_secret
    )


def _token_body(issued: IssuedTokens) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in_s,
        "scope": issued.scope,
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    return body


async def token(ctx: Ctx) -> Response:
    form = dict(parse_qsl(ctx.body.decode("utf-8", "replace")))
    if not _client_ok(ctx, form):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    grant_type, now, auth = form.get("grant_type"), ctx.state.now(), ctx.state.auth
    if grant_type == "client_credentials":
        return JSONResponse(_token_body(auth.issue_client(now=now)))
    if grant_type == "authorization_code":
        grant = auth.use_code(form.get("code", ""), form.get("redirect_uri"), now=now)
        if grant is None:
            return _oauth_error(400, "invalid_grant", "Unknown, used or expired code")
        ctx.state.give_new_user_vehicles(grant.user_id)
        return JSONResponse(_token_body(auth.issue_user(grant.user_id, grant.scopes, now=now)))
    if grant_type == "refresh_token":
        issued = auth.refresh(form.get("refresh_token", ""), now=now)
        if issued is None:
            return _oauth_error(400, "invalid_grant", "Unknown or already used refresh token")
        return JSONResponse(_token_body(issued))
    return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")


def _redirect(redirect_uri: str, **params: str) -> Response:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + joiner + urlencode(params), status_code=302)


async def authorize(ctx: Ctx) -> Response:
    params = ctx.request.query_params
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != ctx.state.config.client_id:
        return PlainTextResponse("unknown client_id", status_code=400)
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return PlainTextResponse("redirect_uri must be an absolute http(s) URL", status_code=400)
    state = params.get("state", "")

    def fail(error: str, description: str) -> Response:
        return _redirect(redirect_uri, error=error, error_description=description, state=state)

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "response_type must be code")
    scopes = frozenset(params.get("scope", "all").split()) - _META_SCOPES
    if not scopes <= USER_SCOPES:
        return fail("invalid_scope", f"unknown scopes {sorted(scopes - USER_SCOPES)}")
    grant = ctx.state.auth.use_link_state(state, now=ctx.state.now())
    if grant is None:
        return fail("invalid_request", "state is not a valid link state (unknown or expired)")
    denial = (
        ctx.state.users[grant.user_id].link_denial if grant.user_id in ctx.state.users else None
    )
    if denial is not None:
        return fail(denial.error, denial.description)
    expires_at = ctx.state.now() + timedelta(seconds=ctx.state.config.auth_code_ttl_s)
    bound = Grant(grant.user_id, expires_at, scopes or frozenset({"all"}), redirect_uri)
    code = ctx.state.auth.new_code(bound)
    return _redirect(redirect_uri, code=code, state=state)


def routes() -> list[Route]:
    return [
        route("/oauth2/token", token, "POST", auth="none"),
        route("/oauth2/auth", authorize, "GET", auth="none"),
    ]
