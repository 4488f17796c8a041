"""The vehicle endpoints of Enode v1.4, with the spec's shapes and checks."""

from __future__ import annotations

import re

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enode_scheduler.sim.gateway import BadRequest, Ctx, route
from enode_scheduler.sim.shapes import (
    VEHICLE_FIELDS,
    information,
    location,
    odometer,
    policy,
    vehicle_body,
)
from enode_scheduler.sim.vehicle import SimVehicle

WATCH_PROPERTIES = (
    "BATTERY_LEVEL",
    "RANGE",
    "IS_PLUGGED_IN",
    "IS_CHARGING",
    "IS_CHARGING_REASONS",
    "LOCATION",
)
_ANY_VEHICLE_SCOPE = (
    "vehicle:location",
    "vehicle:odometer",
    "vehicle:information",
    "vehicle:charge_state",
    "vehicle:smart_charging_policy",
)
_DEADLINE = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def requested_fields(ctx: Ctx) -> list[str]:
    fields = ctx.request.query_params.getlist("field[]")
    unknown = [f for f in fields if f not in VEHICLE_FIELDS]
    if unknown:
        raise BadRequest(f"field[] value {unknown[0]!r} is not one of {', '.join(VEHICLE_FIELDS)}")
    return fields


def _vehicle(ctx: Ctx) -> SimVehicle:
    assert ctx.vehicle is not None
    return ctx.vehicle


async def list_vehicles(ctx: Ctx) -> Response:
    fields = requested_fields(ctx)
    return JSONResponse([vehicle_body(v, fields) for v in ctx.state.user_vehicles(ctx.user_id)])


async def get_vehicle(ctx: Ctx) -> Response:
    return JSONResponse(vehicle_body(_vehicle(ctx), requested_fields(ctx)))


async def charge_state(ctx: Ctx) -> Response:
    return JSONResponse(_vehicle(ctx).charge_state())


async def get_information(ctx: Ctx) -> Response:
    return JSONResponse(information(_vehicle(ctx)))


async def get_location(ctx: Ctx) -> Response:
    return JSONResponse(location(_vehicle(ctx)))


async def get_odometer(ctx: Ctx) -> Response:
    return JSONResponse(odometer(_vehicle(ctx)))


async def charging(ctx: Ctx) -> Response:
    body = ctx.json_body()
    if not isinstance(body, dict) or "action" not in body:
        raise BadRequest('body must be a JSON object with "action": "START" or "STOP"')
    action = body["action"]
    if action not in ("START", "STOP"):
        raise BadRequest(f"action must be START or STOP, not {action!r}")
    ctx.state.command(_vehicle(ctx).id, action)
    return Response(status_code=204)


async def watch(ctx: Ctx) -> Response:
    body = ctx.json_body()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    props = body.get("properties")
    # The schema says a string, the example an array; accept both, as Enode does.
    values = [props] if isinstance(props, str) else (props or [])
    if not isinstance(values, list) or any(v not in WATCH_PROPERTIES for v in values):
        raise BadRequest(f"properties must be among {', '.join(WATCH_PROPERTIES)}")
    vehicle = _vehicle(ctx)
    vehicle.watch_count += 1
    ctx.state.counters[vehicle.id].watches += 1
    return JSONResponse(body)


async def get_policy(ctx: Ctx) -> Response:
    return JSONResponse(policy(_vehicle(ctx)))


async def put_policy(ctx: Ctx) -> Response:
    body = ctx.json_body()
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object with isEnabled and deadline")
    enabled, deadline = body.get("isEnabled"), body.get("deadline")
    if enabled is not None and not isinstance(enabled, bool):
        raise BadRequest("isEnabled must be a boolean")
    if deadline is not None and not (isinstance(deadline, str) and _DEADLINE.fullmatch(deadline)):
        raise BadRequest("deadline must be HH:MM on a 24-hour clock (UTC)")
    vehicle = _vehicle(ctx)
    ctx.state.set_smart_charging(vehicle.id, enabled=enabled, deadline=deadline)
    return JSONResponse(policy(vehicle))


def routes() -> list[Route]:
    path = "/vehicles/{vehicleId}"
    policy_scope = ("vehicle:smart_charging_policy",)
    return [
        route("/vehicles", list_vehicles, "GET", scopes=_ANY_VEHICLE_SCOPE),
        route(path, get_vehicle, "GET", scopes=_ANY_VEHICLE_SCOPE),
        route(path + "/charge-state", charge_state, "GET", scopes=("vehicle:charge_state",)),
        route(path + "/information", get_information, "GET", scopes=("vehicle:information",)),
        route(path + "/location", get_location, "GET", scopes=("vehicle:location",)),
        route(path + "/odometer", get_odometer, "GET", scopes=("vehicle:odometer",)),
        route(path + "/charging", charging, "POST", scopes=("control:vehicle:charging",)),
        route(path + "/watch", watch, "POST", scopes=("vehicle:location", "vehicle:charge_state")),
        route(path + "/smart-charging-policy", get_policy, "GET", scopes=policy_scope),
        route(path + "/smart-charging-policy", put_policy, "PUT", scopes=policy_scope),
    ]
