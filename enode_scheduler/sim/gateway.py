"""What every API request goes through: auth, ownership, faults, then the handler; all logged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from enode_scheduler.sim.auth import Token
from enode_scheduler.sim.charger import SimCharger
from enode_scheduler.sim.faults import Fault
from enode_scheduler.sim.problems import malformed, problem
from enode_scheduler.sim.state import SimState
from enode_scheduler.sim.vehicle import SimVehicle

AuthKind = Literal["user", "client", "none"]


class BadRequest(Exception):
    """A request that fails the sim's hand-written checks of the spec; answered with 400."""


@dataclass
class Ctx:
    request: Request
    state: SimState
    body: bytes
    token: Token | None = None
    vehicle: SimVehicle | None = None
    charger: SimCharger | None = None

    @property
    def user_id(self) -> str:
        assert self.token is not None
        assert self.token.user_id is not None
        return self.token.user_id

    def json_body(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from exc


Handler = Callable[[Ctx], Awaitable[Response]]


def endpoint(
    handler: Handler, *, auth: AuthKind = "user", scopes: tuple[str, ...] = ()
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that runs `handler` behind the checks every Enode call gets."""

    async def run(request: Request) -> Response:
        state: SimState = request.app.state.sim
        ctx = Ctx(request, state, await request.body())
        fault: Fault | None = None
        try:
            response = _authorize(ctx, auth, scopes) or _own_vehicle(ctx) or _own_charger(ctx)
            if response is None:
                fault = _take_fault(ctx)
                response = await _serve(ctx, handler, fault)
        except BadRequest as exc:
            response = problem(400, str(exc))
        response.headers["Date"] = format_datetime(_whole_second(state.now()), usegmt=True)
        _record(ctx, response, fault)
        return response

    return run


def route(
    path: str,
    handler: Handler,
    method: str,
    *,
    auth: AuthKind = "user",
    scopes: tuple[str, ...] = (),
) -> Route:
    """One API route behind `endpoint`'s checks."""
    return Route(path, endpoint(handler, auth=auth, scopes=scopes), methods=[method])


def _authorize(ctx: Ctx, auth: AuthKind, scopes: tuple[str, ...]) -> Response | None:
    if auth == "none":
        return None
    header = ctx.request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return problem(401, "Missing bearer token")
    token = ctx.state.auth.check(value.strip(), now=ctx.state.now())
    if token is None:
        return problem(401, "The access token is unknown or expired")
    if token.kind != auth:
        return problem(401, f"This endpoint needs a {auth} access token")
    ctx.token = token
    if scopes and not ({"all", *scopes} & token.scopes):
        return problem(403, f"The token lacks one of the scopes {', '.join(scopes)}")
    if token.user_id is not None and token.user_id not in ctx.state.users:
        return problem(401, "The user behind this token no longer exists")
    return None


def _own_vehicle(ctx: Ctx) -> Response | None:
    vehicle_id = ctx.request.path_params.get("vehicleId")
    if vehicle_id is None:
        return None
    found = ctx.state.vehicles.get(vehicle_id)
    if found is None or ctx.token is None or found.user_id != ctx.token.user_id:
        return problem(404, f"Vehicle {vehicle_id} not found")
    ctx.vehicle = ctx.state.vehicle(vehicle_id)
    return None


def _own_charger(ctx: Ctx) -> Response | None:
    charger_id = ctx.request.path_params.get("chargerId")
    if charger_id is None:
        return None
    found = ctx.state.chargers.get(charger_id)
    if found is None or ctx.token is None or found.user_id != ctx.token.user_id:
        return problem(404, f"Charger {charger_id} not found")
    ctx.charger = ctx.state.charger(charger_id)
    return None


def _take_fault(ctx: Ctx) -> Fault | None:
    if ctx.vehicle is not None:
        vendors = {ctx.vehicle.vendor}
    elif ctx.charger is not None:
        vendors = {ctx.charger.vendor}
    elif ctx.token is not None and ctx.token.user_id is not None:
        vendors = ctx.state.user_vendors(ctx.token.user_id)
    else:
        vendors = set()
    return ctx.state.faults.take(
        now=ctx.state.now(),
        method=ctx.request.method,
        path=ctx.request.url.path,
        user_id=ctx.token.user_id if ctx.token else None,
        vendors=vendors,
    )


async def _serve(ctx: Ctx, handler: Handler, fault: Fault | None) -> Response:
    if fault is None:
        return await handler(ctx)
    if fault.kind == "slow":
        await _wait(ctx, fault.delay_s)
        return await handler(ctx)
    if fault.kind == "malformed":
        return malformed(await handler(ctx), fault.malformed)
    if fault.applied:
        # The request took effect (a command reached the car) but its answer is lost.
        await handler(ctx)
    if fault.kind == "timeout":
        await _wait(ctx, fault.hang_s)
        return problem(504, "The vendor did not answer in time")
    if fault.kind in ("rate_limit", "quota"):
        return _rate_limited(ctx, fault)
    return problem(fault.status, "The vendor cloud failed (injected)")


async def _wait(ctx: Ctx, seconds: float) -> None:
    # Real seconds, cut short on shutdown so a held request never blocks stopping the server.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ctx.state.shutdown.wait(), timeout=seconds)


def _rate_limited(ctx: Ctx, fault: Fault) -> Response:
    device = ctx.vehicle or ctx.charger
    if device is not None:
        ctx.state.counters[device.id].rate_limited += 1
    headers: dict[str, str] = {}
    if fault.retry_after == "seconds":
        headers["Retry-After"] = str(max(0, math.ceil(fault.retry_after_s)))
    elif fault.retry_after == "http_date":
        when = _whole_second(ctx.state.now() + timedelta(seconds=fault.retry_after_s), up=True)
        headers["Retry-After"] = format_datetime(when, usegmt=True)
    return problem(429, "Rate limiting by the vendor prevented the request", headers=headers)


def _whole_second(when: datetime, *, up: bool = False) -> datetime:
    # HTTP-dates have whole seconds; a Retry-After rounds up so the wait is never shortened.
    whole = when.replace(microsecond=0)
    return whole + timedelta(seconds=1) if up and when.microsecond else whole


def _record(ctx: Ctx, response: Response, fault: Fault | None) -> None:
    vehicle = ctx.vehicle
    device = vehicle or ctx.charger
    if device is not None:
        ctx.state.counters[device.id].requests += 1
    ctx.state.record(
        method=ctx.request.method,
        path=ctx.request.url.path,
        query=list(ctx.request.query_params.multi_items()),
        user_id=ctx.token.user_id if ctx.token else None,
        vendor=device.vendor if device else None,
        vehicle_id=device.id if device else None,
        status=response.status_code,
        fault=fault.kind if fault else None,
        request_content_type=ctx.request.headers.get("content-type"),
        request_body=ctx.body.decode("utf-8", "replace"),
        response_content_type=response.headers.get("content-type"),
        response_body=(
            bytes(response.body).decode("utf-8", "replace")
            if ctx.state.config.log_response_bodies
            else ""
        ),
        client=ctx.request.client.host if ctx.request.client else None,
    )
