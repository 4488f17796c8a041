"""`enode-scheduler plans add|list|remove`: charge goals in the database (the daemon follows)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table

from enode_scheduler.clock import SystemClock
from enode_scheduler.commands.context import settings_from_context
from enode_scheduler.exceptions import InvalidInput, StoreError
from enode_scheduler.records import PlanRecord, ScheduleRecord
from enode_scheduler.store import Store, open_store

app = typer.Typer(help="Charge plans: one goal per vehicle.", no_args_is_help=True)
T = TypeVar("T")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _with_store(ctx: typer.Context, action: Callable[[Store], Awaitable[T]]) -> T:
    settings = settings_from_context(ctx)

    async def go() -> T:
        async with open_store(
            settings.database, state_dir=settings.state_dir, clock=SystemClock()
        ) as store:
            return await action(store)

    try:
        return asyncio.run(go())
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def parse_days(value: str) -> frozenset[int]:
    """ "mon,tue" -> {0, 1}; raises InvalidInput naming the bad day."""
    days = [d.strip().lower()[:3] for d in value.split(",") if d.strip()]
    bad = [d for d in days if d not in DAYS]
    if bad or not days:
        raise InvalidInput(
            f"--days: unknown day {bad[0] if bad else value!r}; use {','.join(DAYS)}"
        )
    return frozenset(DAYS.index(d) for d in days)


def parse_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"--tz: unknown time zone {value!r}") from exc
    return value


def parse_deadline(value: str, *, tz: str, now: datetime) -> datetime:
    """An ISO date-time, in `tz` when it has no offset; must lie in the future."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"--by: {value!r} is not an ISO-8601 date-time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    if parsed <= now:
        raise InvalidInput(f"--by: {value} is in the past")
    return parsed.astimezone(ZoneInfo("UTC"))


def parse_time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"--at: {value!r} is not a time of day (HH:MM)") from exc


def build_plan(
    vehicle_id: str,
    *,
    user: str,
    target: float,
    by: str | None,
    at: str | None,
    days: str,
    tz: str,
    min_soc: float,
    start_penalty: float,
    now: datetime,
    co2_weight: float | None = None,
) -> PlanRecord:
    """Validate the options of `plans add` into a PlanRecord; InvalidInput names the bad one."""
    if (by is None) == (at is None):
        raise InvalidInput("give exactly one of --by DATETIME (one-off) or --at HH:MM (repeating)")
    if min_soc > target:
        raise InvalidInput(f"--min-soc {min_soc:g} is above --target {target:g}")
    zone = parse_zone(tz)
    common: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "user_id": user,
        "target_soc_percent": target,
        "timezone": zone,
        "min_soc_percent": min_soc,
        "start_penalty": start_penalty,
        "co2_price_per_kg": co2_weight,
    }
    if by is not None:
        return PlanRecord(**common, deadline=parse_deadline(by, tz=zone, now=now))
    assert at is not None
    return PlanRecord(**common, weekdays=parse_days(days), local_time=parse_time(at))


@app.command()
def add(
    ctx: typer.Context,
    vehicle_id: Annotated[str, typer.Argument(help="The Enode vehicle id.")],
    user: Annotated[str, typer.Option(help="The user who linked the vehicle.")],
    target: Annotated[float, typer.Option(min=1, max=100, help="Target state of charge, %.")],
    by: Annotated[
        str | None, typer.Option(help="One-off deadline, ISO-8601 (local to --tz without offset).")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Repeating deadline: local time HH:MM.")] = None,
    days: Annotated[
        str, typer.Option(help="Weekdays of a repeating deadline, e.g. mon,tue,wed,thu,fri.")
    ] = ",".join(DAYS),
    tz: Annotated[str, typer.Option(help="IANA time zone of --by/--at.")] = "UTC",
    min_soc: Annotated[
        float, typer.Option(min=0, max=100, help="Charge to this % at once, whatever it costs.")
    ] = 0.0,
    start_penalty: Annotated[
        float, typer.Option(min=0, help="Cost added per charging start (fewer interruptions).")
    ] = 0.0,
    co2_weight: Annotated[
        float | None,
        typer.Option(
            min=0,
            help=(
                "Money per kg CO2 for this plan: it minimises energy cost + this * kg CO2 "
                "(overrides [co2] price_per_kg and mode; needs a [co2] source)."
            ),
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            help="Charging location (id or name) where the plan applies; default: the user's "
            "only one."
        ),
    ] = None,
) -> None:
    """Set the vehicle's plan (replacing any); the running daemon picks it up.

    The car must be one of --user's (a stored vehicle, else one read through Enode). The plan
    acts only while the car is at its charging location."""
    from enode_scheduler.commands.locations import run_with_places
    from enode_scheduler.service.locations import (
        PlanPlaces,
        check_vehicle,
        no_location_note,
        resolve_location,
    )

    try:
        plan = build_plan(
            vehicle_id, user=user, target=target, by=by, at=at, days=days, tz=tz,
            min_soc=min_soc, start_penalty=start_penalty, now=SystemClock().now(),
            co2_weight=co2_weight,
        )  # fmt: skip
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def store_plan(places: PlanPlaces) -> PlanRecord:
        await check_vehicle(places, vehicle_id, user)
        where = await resolve_location(places, user, location)
        return await places.plans.put_plan(dataclasses.replace(plan, location_id=where))

    stored = run_with_places(ctx, store_plan)
    typer.echo(f"plan set for {stored.vehicle_id}: {describe(stored)}")
    if stored.location_id is None:
        typer.echo(no_location_note(user, vehicle_id), err=True)


@app.command("list")
def list_plans(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show every plan with its state, location, and its current schedule's cost and kg CO2."""

    async def read(
        store: Store,
    ) -> tuple[list[PlanRecord], dict[str, ScheduleRecord], dict[str, str]]:
        plans = await store.plans.list_plans()
        schedules = await store.schedules.get_schedules([p.vehicle_id for p in plans])
        users = sorted({p.user_id for p in plans})
        found = [loc for u in users for loc in await store.locations.list_locations(u)]
        return plans, schedules, {loc.location_id: loc.name or loc.location_id for loc in found}

    plans, schedules, names = _with_store(ctx, read)
    if as_json:
        out = [plan_json(p, schedules.get(p.vehicle_id)) for p in plans]
        typer.echo(json.dumps(out, indent=2))
        return
    table = Table(
        "vehicle",
        "user",
        "goal",
        "min SoC",
        "location",
        "status",
        "cost (saving)",
        "kg CO2 (saved)",
    )
    for p in plans:
        status = p.shown_status + (f" ({p.status_reason})" if p.status_reason else "")
        status += _site_cell(schedules.get(p.vehicle_id))
        where = names.get(p.location_id, p.location_id) if p.location_id else "-"
        money, co2 = _schedule_cells(schedules.get(p.vehicle_id))
        table.add_row(
            p.vehicle_id,
            p.user_id,
            describe(p),
            f"{p.min_soc_percent:g}%",
            where,
            status,
            money,
            co2,
        )
    Console().print(table)


def _site_note(record: ScheduleRecord | None) -> str | None:
    """The schedule's site line: the car shares a capped connection with other cars."""
    from enode_scheduler.service.sites import site_note

    return site_note(record.schedule) if record is not None else None


def _site_cell(record: ScheduleRecord | None) -> str:
    note = _site_note(record)
    return f"\n{note}" if note else ""


def _schedule_cells(record: ScheduleRecord | None) -> tuple[str, str]:
    if record is None:
        return "-", "-"
    s = record.schedule
    return f"{s.cost:.2f} ({s.saving:.2f})", f"{s.co2_kg:.2f} ({s.co2_saving_kg:.2f})"


@app.command()
def remove(
    ctx: typer.Context,
    vehicle_id: Annotated[str, typer.Argument(help="The vehicle whose plan to remove.")],
) -> None:
    """Remove the vehicle's plan; the daemon stops managing it."""
    removed = _with_store(ctx, lambda store: store.plans.delete_plan(vehicle_id))
    if not removed:
        typer.echo(f"error: no plan for vehicle {vehicle_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"plan removed for {vehicle_id}")


def describe(plan: PlanRecord) -> str:
    if plan.deadline is not None:
        local = plan.deadline.astimezone(ZoneInfo(plan.timezone))
        return f"{plan.target_soc_percent:g}% by {local:%Y-%m-%d %H:%M} {plan.timezone}"
    days = ",".join(DAYS[d] for d in sorted(plan.weekdays))
    at = plan.local_time.strftime("%H:%M") if plan.local_time else "?"
    return f"{plan.target_soc_percent:g}% at {at} {plan.timezone} on {days}"


def plan_json(plan: PlanRecord, record: ScheduleRecord | None = None) -> dict[str, Any]:
    """A plan as JSON, with `schedule`: its current schedule's money and CO2 (null before one)."""
    return {
        "vehicle_id": plan.vehicle_id,
        "user_id": plan.user_id,
        "target_soc_percent": plan.target_soc_percent,
        "deadline": plan.deadline.isoformat() if plan.deadline else None,
        "weekdays": [DAYS[d] for d in sorted(plan.weekdays)],
        "local_time": plan.local_time.strftime("%H:%M") if plan.local_time else None,
        "timezone": plan.timezone,
        "min_soc_percent": plan.min_soc_percent,
        "start_penalty": plan.start_penalty,
        "co2_weight": plan.co2_price_per_kg,
        "enabled": plan.enabled,
        "location_id": plan.location_id,
        # What an operator needs: away / location_unknown / no_location explain an idle car.
        "status": plan.shown_status,
        "status_reason": plan.status_reason,
        "schedule": _schedule_json(record),
    }


def _schedule_json(record: ScheduleRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    s = record.schedule
    return {
        "computed_at": record.computed_at.isoformat(),
        "expected_cost": s.cost,
        "cost_if_charged_now": s.baseline_cost,
        "saving": s.saving,
        "co2_kg": s.co2_kg,
        "co2_kg_if_charged_now": s.baseline_co2_kg,
        "co2_saving_kg": s.co2_saving_kg,
        # Planned with the other cars at a capped site: which, and under what cap.
        "site": _site_note(record),
    }
