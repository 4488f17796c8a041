"""The charger endpoints of Enode v1.4, with the spec's shapes and checks."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enode_scheduler.sim.charger import SimCharger
from enode_scheduler.sim.gateway import BadRequest, Ctx, route
from enode_scheduler.sim.shapes import CHARGER_FIELDS, charger_body

_ANY_CHARGER_SCOPE = ("charger:charge_state", "charger:information")


def _fields(ctx: Ctx) -> list[str]:
    fields = ctx.request.query_params.getlist("field[]")
    unknown = [f for f in fields if f not in CHARGER_FIELDS]
    if unknown:
        raise BadRequest(f"field[] value {unknown[0]!r} is not one of {', '.join(CHARGER_FIELDS)}")
    return fields


def _charger(ctx: Ctx) -> SimCharger:
    assert ctx.charger is not None
    return ctx.charger


async def list_chargers(ctx: Ctx) -> Response:
    fields = _fields(ctx)
    state = ctx.state
    return JSONResponse(
        [charger_body(c, state.charger_car(c), fields) for c in state.user_chargers(ctx.user_id)]
    )


async def get_charger(ctx: Ctx) -> Response:
    charger = _charger(ctx)
    return JSONResponse(charger_body(charger, ctx.state.charger_car(charger), _fields(ctx)))


async def charging(ctx: Ctx) -> Response:
    body = ctx.json_body()
    if not isinstance(body, dict) or "action" not in body:
        raise BadRequest('body must be a JSON object with "action": "START" or "STOP"')
    action = body["action"]
    if action not in ("START", "STOP"):
        raise BadRequest(f"action must be START or STOP, not {action!r}")
    ctx.state.charger_command(_charger(ctx).id, action)
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        route("/chargers", list_chargers, "GET", scopes=_ANY_CHARGER_SCOPE),
        route("/chargers/{chargerId}", get_charger, "GET", scopes=_ANY_CHARGER_SCOPE),
        route(
            "/chargers/{chargerId}/charging",
            charging,
            "POST",
            scopes=("control:charger:charging",),
        ),
    ]
