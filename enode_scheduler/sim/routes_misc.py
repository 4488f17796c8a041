"""User management, health, charging locations, /me and the webhook config endpoints."""

from __future__ import annotations

import random
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enode_scheduler.sim.config import SPEC_VENDORS
from enode_scheduler.sim.fleet import seeded_uuid
from enode_scheduler.sim.gateway import BadRequest, Ctx, route
from enode_scheduler.sim.problems import problem

_LINK_OPTIONS = {
    "forceLanguage": str,
    "linkMultiple": bool,
    "userImage": str,
    "userName": str,
    "vendor": str,
}


async def link_user(ctx: Ctx) -> Response:
    body = ctx.json_body() or {}
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    for key, kind in _LINK_OPTIONS.items():
        if key in body and not isinstance(body[key], kind):
            raise BadRequest(f"{key} must be a {kind.__name__}")
    if "vendor" in body and body["vendor"] not in SPEC_VENDORS:
        raise BadRequest(f"vendor must be one of {', '.join(SPEC_VENDORS)}")
    user_id = ctx.request.path_params["userId"]
    ctx.state.add_user(user_id)
    state = ctx.state.auth.new_link_state(
        user_id, now=ctx.state.now(), ttl_s=ctx.state.config.link_state_ttl_s
    )
    return JSONResponse({"linkState": state})


async def delete_user(ctx: Ctx) -> Response:
    ctx.state.delete_user(ctx.request.path_params["userId"])
    return Response(status_code=204)


async def deauthorize_user(ctx: Ctx) -> Response:
    ctx.state.revoke_user_tokens(ctx.request.path_params["userId"])
    return Response(status_code=204)


async def health_ready(ctx: Ctx) -> Response:
    if ctx.state.ready:
        return Response(status_code=204)
    return JSONResponse("Service is not ready", status_code=503)


async def health_vendors(ctx: Ctx) -> Response:
    names = {p.vendor: p.display_name for p in ctx.state.config.vendors}
    return JSONResponse(
        [
            {"vendor": v, "displayName": names.get(v, v.title()), "status": status}
            for v, status in ctx.state.vendor_status.items()
        ]
    )


async def me(ctx: Ctx) -> Response:
    vendors = sorted(ctx.state.user_vendors(ctx.user_id))
    invalid = ctx.state.invalid_links
    linked = [{"vendor": v, "isValid": (ctx.user_id, v) not in invalid} for v in vendors]
    return JSONResponse({"id": ctx.user_id, "linkedVendors": linked})


def _locations(ctx: Ctx) -> dict[str, dict[str, Any]]:
    return ctx.state.users[ctx.user_id].locations


def _location_body(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_body()
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object with name, latitude, longitude")
    for key in ("latitude", "longitude"):
        if key in body and not isinstance(body[key], int | float):
            raise BadRequest(f"{key} must be a number")
    if "name" in body and not isinstance(body["name"], str):
        raise BadRequest("name must be a string")
    return {k: body[k] for k in ("name", "latitude", "longitude") if k in body}


async def list_locations(ctx: Ctx) -> Response:
    return JSONResponse(list(_locations(ctx).values()))


async def create_location(ctx: Ctx) -> Response:
    fields = _location_body(ctx)
    rng = random.Random(f"{ctx.state.config.seed}-{ctx.user_id}-{len(_locations(ctx))}")  # noqa: S311
    location = {"id": seeded_uuid(rng), **fields}
    _locations(ctx)[location["id"]] = location
    return JSONResponse(location, status_code=201)


def _missing(location_id: str) -> Response:
    return problem(404, f"Charging location {location_id} not found")


async def get_location(ctx: Ctx) -> Response:
    location_id = ctx.request.path_params["chargingLocationId"]
    found = _locations(ctx).get(location_id)
    if found is None:
        return _missing(location_id)
    return JSONResponse(found)


async def put_location(ctx: Ctx) -> Response:
    location_id = ctx.request.path_params["chargingLocationId"]
    found = _locations(ctx).get(location_id)
    if found is None:
        return _missing(location_id)
    found.update(_location_body(ctx))
    return JSONResponse(found)


async def delete_location(ctx: Ctx) -> Response:
    location_id = ctx.request.path_params["chargingLocationId"]
    if _locations(ctx).pop(location_id, None) is None:
        return _missing(location_id)
    for vehicle in ctx.state.vehicles.values():
        if vehicle.charging_location_id == location_id:
            vehicle.charging_location_id = None
    return Response(status_code=204)


async def put_firehose(ctx: Ctx) -> Response:
    body = ctx.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise BadRequest("body must be a JSON object with url and secret")
    if not isinstance(body.get("secret", ""), str):
        raise BadRequest("secret must be a string")
    ctx.state.firehose.url = body["url"]
    ctx.state.firehose.secret = body.get("secret")
    return Response(status_code=204)


async def test_firehose(ctx: Ctx) -> Response:
    firehose = ctx.state.firehose
    event = {"event": "enode:firehose:test", "createdAt": ctx.state.now().isoformat()}
    delivery = await firehose.deliver([event])
    if delivery is None:
        return JSONResponse("No webhook is configured")
    if delivery.error is not None:
        return JSONResponse(f"Delivery failed: {delivery.error}")
    return JSONResponse(f"Delivered; the receiver answered {delivery.status}")


def routes() -> list[Route]:
    places = ("charging_location",)
    location = "/charging-locations/{chargingLocationId}"
    return [
        route("/users/{userId}/link", link_user, "POST", auth="client"),
        route("/users/{userId}", delete_user, "DELETE", auth="client"),
        route("/users/{userId}/authorization", deauthorize_user, "DELETE", auth="client"),
        route("/health/ready", health_ready, "GET", auth="none"),
        route("/health/vendors", health_vendors, "GET", auth="none"),
        route("/me", me, "GET"),
        route("/charging-locations", list_locations, "GET", scopes=places),
        route("/charging-locations", create_location, "POST", scopes=places),
        route(location, get_location, "GET", scopes=places),
        route(location, put_location, "PUT", scopes=places),
        route(location, delete_location, "DELETE", scopes=places),
        route("/webhooks/firehose", put_firehose, "PUT", auth="client"),
        route("/webhooks/firehose/test", test_firehose, "POST", auth="client"),
    ]
