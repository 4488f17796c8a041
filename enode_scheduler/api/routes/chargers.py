"""Charger routes: latest state of a user's chargers, and charger-only plans with schedules."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Response

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.convert import (
    charger_out,
    charger_plan_record,
    command_out,
    override_out,
    plan_out,
    schedule_out,
)
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.api.models import (
    ChargerId,
    ChargerOut,
    ChargerPlanIn,
    ChargerScheduleOut,
    ChargersOut,
    OverrideIn,
    OverrideOut,
    PlanOut,
    UserId,
)
from enode_scheduler.api.problems import responses
from enode_scheduler.api.routes.vehicles import (
    HISTORY_WINDOW,
    MAX_AHEAD,
    MAX_OVERRIDE,
    Deps,
    future,
    plan_location,
)
from enode_scheduler.ports import ChargerStore
from enode_scheduler.records import ChargerReading, OverrideKind, OverrideRecord
from enode_scheduler.service.energy import delivered_kwh

__all__ = ["charger_router"]


def _chargers(deps: ApiDeps) -> ChargerStore:
    if deps.chargers is None:
        raise HTTPException(404, "This API serves no chargers.")
    return deps.chargers


async def _reading(deps: ApiDeps, charger_id: str) -> ChargerReading:
    reading = (await _chargers(deps).latest_charger_readings([charger_id])).get(charger_id)
    if reading is None:
        raise HTTPException(404, f"No charger {charger_id!r} is known.")
    return reading


async def list_chargers(user_id: UserId, deps: Deps) -> ChargersOut:
    """The latest known state of each of the user's chargers, with the age of the reading."""
    if await deps.users.get_user(user_id) is None:
        raise HTTPException(404, f"No user {user_id!r} is known.")
    store = _chargers(deps)
    readings = await store.latest_charger_readings(await store.list_charger_ids(user_id))
    now = deps.clock.now()
    return ChargersOut(
        user_id=user_id, chargers=[charger_out(readings[c], now=now) for c in sorted(readings)]
    )


async def get_charger(charger_id: ChargerId, deps: Deps) -> ChargerOut:
    """One charger's latest known state."""
    return charger_out(await _reading(deps, charger_id), now=deps.clock.now())


async def get_plan(charger_id: ChargerId, deps: Deps) -> PlanOut:
    """The charger's charger-only plan."""
    plan = await deps.plans.get_plan(charger_id)
    if plan is None or not plan.energy_only:
        raise HTTPException(404, f"Charger {charger_id!r} has no plan.")
    return plan_out(plan)


async def put_plan(
    charger_id: ChargerId, body: ChargerPlanIn, deps: Deps, background: BackgroundTasks
) -> PlanOut:
    """Create or replace the charger's plan: `energy_kwh` by `deadline` (or each `repeat`)."""
    reading = await _reading(deps, charger_id)
    if body.deadline is not None:
        future(body.deadline, now=deps.clock.now(), field="deadline", limit=MAX_AHEAD)
    # A wallbox does not move (and Enode v1.4 gives a charger no location): the plan's location
    # is where the charger is taken to be; see `energy.energy_reading`.
    where = await plan_location(deps, reading.user_id, body.location)
    record = charger_plan_record(
        body, charger_id=charger_id, user_id=reading.user_id, location_id=where
    )
    saved = await deps.plans.put_plan(record)
    background.add_task(deps.request_replan, charger_id)
    return plan_out(saved)


async def delete_plan(charger_id: ChargerId, deps: Deps, background: BackgroundTasks) -> None:
    """Remove the charger's plan; the daemon stops steering it."""
    plan = await deps.plans.get_plan(charger_id)
    if plan is None or not plan.energy_only or not await deps.plans.delete_plan(charger_id):
        raise HTTPException(404, f"Charger {charger_id!r} has no plan.")
    background.add_task(deps.request_replan, charger_id)


async def post_override(
    charger_id: ChargerId, body: OverrideIn, deps: Deps, background: BackgroundTasks
) -> OverrideOut:
    """Charge now or pause the charger-only plan until a time, winning over its schedule."""
    await _reading(deps, charger_id)
    if body.until_soc_percent is not None:
        raise HTTPException(422, "until_soc_percent: a charger has no SoC; give until (a time).")
    now = deps.clock.now()
    assert body.until is not None  # OverrideIn asks for one of the two
    future(body.until, now=now, field="until", limit=MAX_OVERRIDE)
    record = OverrideRecord(
        vehicle_id=charger_id, kind=OverrideKind(body.action), created_at=now, until=body.until
    )
    await deps.overrides.put_override(record)
    background.add_task(deps.request_reconcile, charger_id)
    return override_out(record, now=now, soc_percent=None)


async def delete_override(charger_id: ChargerId, deps: Deps, background: BackgroundTasks) -> None:
    """End the charger's override now; its plan decides again."""
    if not await deps.overrides.clear_override(charger_id):
        raise HTTPException(404, f"Charger {charger_id!r} has no override.")
    background.add_task(deps.request_reconcile, charger_id)


async def get_schedule(charger_id: ChargerId, deps: Deps) -> ChargerScheduleOut:
    """The charger-only plan's goal and what was delivered this cycle, its windows, expected
    cost and why each window; the commands of the last day."""
    reading = await _reading(deps, charger_id)
    now = deps.clock.now()
    plan = await deps.plans.get_plan(charger_id)
    baseline = (await _chargers(deps).get_energy_baselines([charger_id])).get(charger_id)
    record = await deps.schedules.get_schedule(charger_id)
    history = await deps.intents.history(charger_id, since=now - HISTORY_WINDOW)
    delivered = None
    if baseline is not None:
        delivered = round(delivered_kwh(reading, baseline_kwh=baseline.start_kwh), 3)
    return ChargerScheduleOut(
        charger_id=charger_id,
        energy_goal_kwh=plan.energy_kwh if plan is not None else None,
        energy_delivered_kwh=delivered,
        cycle_deadline=baseline.deadline if baseline else None,
        schedule=schedule_out(record) if record else None,
        commands=[command_out(i) for i in history],
    )


def charger_router(tokens: TokenTable) -> APIRouter:
    """Routes under /v1 that read chargers or change their charger-only plans."""
    read = [Depends(tokens.require("read"))]
    write = [Depends(tokens.require("write"))]
    router = APIRouter(prefix="/v1", tags=["chargers"], responses=responses(401, 403, 404))
    add = router.add_api_route
    add("/users/{user_id}/chargers", list_chargers, dependencies=read, responses=responses(422))
    add("/chargers/{charger_id}", get_charger, dependencies=read, responses=responses(422))
    add("/chargers/{charger_id}/plan", get_plan, dependencies=read, responses=responses(422))
    add(
        "/chargers/{charger_id}/plan",
        put_plan,
        methods=["PUT"],
        dependencies=write,
        responses=responses(400, 413, 422),
    )
    add(
        "/chargers/{charger_id}/plan",
        delete_plan,
        methods=["DELETE"],
        dependencies=write,
        responses=responses(422),
        status_code=204,
        response_class=Response,
    )
    add(
        "/chargers/{charger_id}/override",
        post_override,
        methods=["POST"],
        dependencies=write,
        responses=responses(400, 413, 422),
    )
    add(
        "/chargers/{charger_id}/override",
        delete_override,
        methods=["DELETE"],
        dependencies=write,
        responses=responses(422),
        status_code=204,
        response_class=Response,
    )
    add(
        "/chargers/{charger_id}/schedule", get_schedule, dependencies=read, responses=responses(422)
    )
    return router
