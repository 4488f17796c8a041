"""Vehicle routes: latest state, the plan, overrides and the explained schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.convert import (
    override_out,
    plan_out,
    plan_record,
    vehicle_out,
    vehicle_schedule_out,
)
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.api.models import (
    OverrideIn,
    OverrideOut,
    PlanIn,
    PlanOut,
    UserId,
    VehicleId,
    VehicleScheduleOut,
    VehiclesOut,
)
from enode_scheduler.api.problems import responses
from enode_scheduler.records import OverrideKind, OverrideRecord, VehicleReading
from enode_scheduler.service.locations import PlanPlaces, resolve_location

__all__ = [
    "HISTORY_WINDOW",
    "MAX_AHEAD",
    "MAX_OVERRIDE",
    "Deps",
    "api_deps",
    "future",
    "plan_location",
    "plan_places",
    "vehicle_router",
]

HISTORY_WINDOW = timedelta(days=1)
MAX_AHEAD = timedelta(days=366)
MAX_OVERRIDE = timedelta(days=31)


def api_deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.api_deps
    return deps


def plan_places(deps: ApiDeps) -> PlanPlaces | None:
    """The stores and Enode a plan's location is checked against; None without a location
    store."""
    if deps.locations is None:
        return None
    return PlanPlaces(deps.vehicles, deps.plans, deps.locations, deps.enode, deps.enode_locations)


async def plan_location(deps: ApiDeps, user_id: str, ref: str | None) -> str | None:
    """The location a plan body names (`ref`), else the user's only one; None without a location
    store (503 if one was named)."""
    places = plan_places(deps)
    if places is None:
        if ref is not None:
            raise HTTPException(503, "Charging locations are not available on this server.")
        return None
    return await resolve_location(places, user_id, ref)


Deps = Annotated[ApiDeps, Depends(api_deps)]


async def _reading(deps: ApiDeps, vehicle_id: str) -> VehicleReading:
    reading = (await deps.vehicles.latest_readings([vehicle_id])).get(vehicle_id)
    if reading is None:
        raise HTTPException(404, f"No vehicle {vehicle_id!r} is known.")
    return reading


def future(when: datetime, *, now: datetime, field: str, limit: timedelta) -> None:
    if when <= now:
        raise HTTPException(422, f"{field}: must be in the future (now is {now.isoformat()}).")
    if when > now + limit:
        raise HTTPException(422, f"{field}: must be within {limit.days} days from now.")


async def list_vehicles(user_id: UserId, deps: Deps) -> VehiclesOut:
    """The latest known state of each of the user's vehicles, with the age of the reading."""
    if await deps.users.get_user(user_id) is None:
        raise HTTPException(404, f"No user {user_id!r} is known.")
    ids = await deps.vehicles.list_vehicle_ids(user_id)
    readings = await deps.vehicles.latest_readings(ids)
    now = deps.clock.now()
    vehicles = [vehicle_out(readings[v], now=now) for v in sorted(readings)]
    return VehiclesOut(user_id=user_id, vehicles=vehicles)


async def get_plan(vehicle_id: VehicleId, deps: Deps) -> PlanOut:
    """The vehicle's plan."""
    plan = await deps.plans.get_plan(vehicle_id)
    if plan is None:
        raise HTTPException(404, f"Vehicle {vehicle_id!r} has no plan.")
    return plan_out(plan)


async def put_plan(
    vehicle_id: VehicleId, body: PlanIn, deps: Deps, background: BackgroundTasks
) -> PlanOut:
    """Create or replace the vehicle's one plan (one-off `deadline` or `repeat`)."""
    reading = await _reading(deps, vehicle_id)
    if body.deadline is not None:
        future(body.deadline, now=deps.clock.now(), field="deadline", limit=MAX_AHEAD)
    current = await deps.plans.get_plan(vehicle_id)
    expected = {
        "vehicle_id": vehicle_id,
        "user_id": reading.user_id,
        "plan_id": current.plan_id if current else None,
    }
    for field, value in expected.items():
        given = getattr(body, field)
        if given is not None and given != value:
            raise HTTPException(422, f"{field}: read-only, and {given!r} is not this plan's.")
    if body.charger_id is not None and deps.chargers is not None:
        found = await deps.chargers.latest_charger_readings([body.charger_id])
        if body.charger_id not in found or found[body.charger_id].user_id != reading.user_id:
            raise HTTPException(
                422, f"charger_id: user {reading.user_id!r} has no charger {body.charger_id!r}."
            )
    # A GET body names its place as location_id: sent back, the plan stays where it was.
    wanted = body.location if body.location is not None else body.location_id
    where = await plan_location(deps, reading.user_id, wanted)
    record = plan_record(body, vehicle_id=vehicle_id, user_id=reading.user_id, location_id=where)
    saved = await deps.plans.put_plan(record)
    background.add_task(deps.request_replan, vehicle_id)
    return plan_out(saved)


async def delete_plan(vehicle_id: VehicleId, deps: Deps, background: BackgroundTasks) -> None:
    """Remove the vehicle's plan; the daemon stops steering it."""
    if not await deps.plans.delete_plan(vehicle_id):
        raise HTTPException(404, f"Vehicle {vehicle_id!r} has no plan.")
    background.add_task(deps.request_replan, vehicle_id)


async def post_override(
    vehicle_id: VehicleId, body: OverrideIn, deps: Deps, background: BackgroundTasks
) -> OverrideOut:
    """Charge now or pause, winning over the plan until the override ends."""
    reading = await _reading(deps, vehicle_id)
    now = deps.clock.now()
    if body.until is not None:
        future(body.until, now=now, field="until", limit=MAX_OVERRIDE)
    record = OverrideRecord(
        vehicle_id=vehicle_id,
        kind=OverrideKind(body.action),
        created_at=now,
        until=body.until,
        until_soc_percent=body.until_soc_percent,
    )
    await deps.overrides.put_override(record)
    background.add_task(deps.request_reconcile, vehicle_id)
    return override_out(record, now=now, soc_percent=reading.soc_percent)


async def delete_override(vehicle_id: VehicleId, deps: Deps, background: BackgroundTasks) -> None:
    """End the vehicle's override now; the plan decides again."""
    if not await deps.overrides.clear_override(vehicle_id):
        raise HTTPException(404, f"Vehicle {vehicle_id!r} has no override.")
    background.add_task(deps.request_reconcile, vehicle_id)


async def get_schedule(vehicle_id: VehicleId, deps: Deps) -> VehicleScheduleOut:
    """Windows, expected SoC and cost, saving, why each window; commands of the last day."""
    reading = await _reading(deps, vehicle_id)
    now = deps.clock.now()
    outcomes = await deps.outcomes.get_outcomes([vehicle_id]) if deps.outcomes else {}
    return vehicle_schedule_out(
        vehicle_id,
        plan=await deps.plans.get_plan(vehicle_id),
        reading=reading,
        record=await deps.schedules.get_schedule(vehicle_id),
        override=await deps.overrides.get_override(vehicle_id),
        history=await deps.intents.history(vehicle_id, since=now - HISTORY_WINDOW),
        outcome=outcomes.get(vehicle_id),
        now=now,
        currency=deps.currency,
    )


def vehicle_router(tokens: TokenTable) -> APIRouter:
    """Routes under /v1 that read or change one user's vehicles."""
    read = [Depends(tokens.require("read"))]
    write = [Depends(tokens.require("write"))]
    router = APIRouter(prefix="/v1", tags=["vehicles"], responses=responses(401, 403, 404))
    body_errors = responses(400, 413, 422)
    add = router.add_api_route
    add("/users/{user_id}/vehicles", list_vehicles, dependencies=read, responses=responses(422))
    add("/vehicles/{vehicle_id}/plan", get_plan, dependencies=read, responses=responses(422))
    add(
        "/vehicles/{vehicle_id}/plan",
        put_plan,
        methods=["PUT"],
        dependencies=write,
        responses=body_errors,
    )
    add(
        "/vehicles/{vehicle_id}/plan",
        delete_plan,
        methods=["DELETE"],
        dependencies=write,
        responses=responses(422),
        status_code=204,
        response_class=Response,
    )
    add(
        "/vehicles/{vehicle_id}/override",
        post_override,
        methods=["POST"],
        dependencies=write,
        responses=body_errors,
    )
    add(
        "/vehicles/{vehicle_id}/override",
        delete_override,
        methods=["DELETE"],
        dependencies=write,
        responses=responses(422),
        status_code=204,
        response_class=Response,
    )
    add(
        "/vehicles/{vehicle_id}/schedule", get_schedule, dependencies=read, responses=responses(422)
    )
    return router
