"""`enode-scheduler plans add|list|remove`: charge goals in the database (the daemon follows)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from enode_scheduler.commands.context import (
    clock_for,
    id_column,
    local_zone_name,
    run_on_store,
    settings_from_context,
    table_console,
)
from enode_scheduler.exceptions import InvalidInput

# The store (SQLAlchemy) and rich load inside the commands, so that `--help` does not pay for them.
if TYPE_CHECKING:
    from enode_scheduler.records import PlanOutcome, PlanRecord, ScheduleRecord, VehicleReading
    from enode_scheduler.store import Store

app = typer.Typer(help="Charge plans: one goal per vehicle.", no_args_is_help=True)
T = TypeVar("T")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
    target: float | None,
    by: str | None,
    at: str | None,
    days: str,
    tz: str,
    min_soc: float,
    start_penalty: float,
    now: datetime,
    via_charger: str | None = None,
    energy_kwh: float | None = None,
    co2_weight: float | None = None,
) -> PlanRecord:
    """Validate the options of `plans add` into a PlanRecord; InvalidInput names the bad one.

    With `energy_kwh` the id is a charger's and the plan is charger-only (no SoC: a goal of
    energy delivered); with `via_charger` the id is a car's whose charging goes through it.
    """
    from enode_scheduler.records import PlanRecord

    if (by is None) == (at is None):
        raise InvalidInput("give exactly one of --by DATETIME (one-off) or --at HH:MM (repeating)")
    charger_id = via_charger
    if energy_kwh is not None:
        if target is not None or via_charger is not None:
            raise InvalidInput(
                "--energy-kwh makes a charger-only plan for the charger given as the id: "
                "not with --target or --via-charger"
            )
        if min_soc > 0:
            raise InvalidInput("--min-soc needs a car's SoC: not with --energy-kwh")
        target, charger_id = 100.0, vehicle_id
    if target is None:
        raise InvalidInput("give --target PERCENT (or --energy-kwh KWH for a charger)")
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
        "charger_id": charger_id,
        "energy_kwh": energy_kwh,
        "co2_price_per_kg": co2_weight,
    }
    if by is not None:
        return PlanRecord(**common, deadline=parse_deadline(by, tz=zone, now=now))
    assert at is not None
    return PlanRecord(**common, weekdays=parse_days(days), local_time=parse_time(at))


@app.command()
def add(
    ctx: typer.Context,
    vehicle_id: Annotated[
        str, typer.Argument(help="The Enode vehicle id (a charger's with --energy-kwh).")
    ],
    user: Annotated[str, typer.Option(help="The user who linked the vehicle.")],
    target: Annotated[
        float | None, typer.Option(min=1, max=100, help="Target state of charge, %.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="One-off deadline, ISO-8601 (local to --tz without offset).")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Repeating deadline: local time HH:MM.")] = None,
    days: Annotated[
        str, typer.Option(help="Weekdays of a repeating deadline, e.g. mon,tue,wed,thu,fri.")
    ] = ",".join(DAYS),
    tz: Annotated[
        str | None,
        typer.Option(
            help="IANA time zone of --by/--at (default: scheduler.timezone, else this machine's)."
        ),
    ] = None,
    min_soc: Annotated[
        float, typer.Option(min=0, max=100, help="Charge to this % at once, whatever it costs.")
    ] = 0.0,
    start_penalty: Annotated[
        float, typer.Option(min=0, help="Cost added per charging start (fewer interruptions).")
    ] = 0.0,
    via_charger: Annotated[
        str | None,
        typer.Option(
            help="Charge through this charger: SoC from the car, START/STOP to the charger."
        ),
    ] = None,
    energy_kwh: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Charger-only plan: deliver this much energy through the charger given as the "
            "id (no SoC known).",
        ),
    ] = None,
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
    r"""Set the vehicle's (or charger's) plan, replacing any; the running daemon picks it up.

    The car must be one of --user's (a stored vehicle, else one read through Enode), and so must
    the charger of --via-charger or --energy-kwh. The plan acts only while the car is at its
    charging location (a charger-only plan's charger is taken to be at the plan's location).
    --by is checked against the daemon's clock (`\[clock]`), so a trial against the fake Enode
    takes deadlines on the simulated date.
    """
    from enode_scheduler.commands.locations import run_with_places
    from enode_scheduler.service.locations import (
        PlanPlaces,
        check_charger,
        check_vehicle,
        no_location_note,
        resolve_location,
    )

    settings = settings_from_context(ctx)
    zone = tz or local_zone_name(settings)
    try:
        plan = build_plan(
            vehicle_id, user=user, target=target, by=by, at=at, days=days, tz=zone,
            min_soc=min_soc, start_penalty=start_penalty, now=clock_for(settings).now(),
            via_charger=via_charger, energy_kwh=energy_kwh,
            co2_weight=co2_weight,
        )  # fmt: skip
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def store_plan(places: PlanPlaces) -> PlanRecord:
        if plan.energy_only:
            await check_charger(places, vehicle_id, user)
        else:
            await check_vehicle(places, vehicle_id, user)
            if plan.charger_id is not None:
                await check_charger(places, plan.charger_id, user)
        where = await resolve_location(places, user, location)
        return await places.plans.put_plan(dataclasses.replace(plan, location_id=where))

    stored = run_with_places(ctx, store_plan)
    typer.echo(f"plan set for {stored.vehicle_id}: {describe(stored)}")
    if stored.location_id is None:
        typer.echo(no_location_note(user, vehicle_id), err=True)


@dataclasses.dataclass(frozen=True, slots=True)
class _PlanView:
    plan: PlanRecord
    record: ScheduleRecord | None
    reading: VehicleReading | None
    outcome: PlanOutcome | None
    place: str | None  # the plan's location, by name when it has one


async def _plan_views(store: Store) -> list[_PlanView]:
    plans = await store.plans.list_plans()
    ids = [p.vehicle_id for p in plans]
    records = await store.schedules.get_schedules(ids)
    readings = await store.vehicles.latest_readings(ids)
    outcomes = await store.outcomes.get_outcomes(ids)
    users = sorted({p.user_id for p in plans})
    found = [loc for u in users for loc in await store.locations.list_locations(u)]
    names = {loc.location_id: loc.name or loc.location_id for loc in found}
    views = []
    for p in plans:
        v = p.vehicle_id
        place = names.get(p.location_id, p.location_id) if p.location_id else None
        views.append(_PlanView(p, records.get(v), readings.get(v), outcomes.get(v), place))
    return views


@app.command("list")
def list_plans(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show every plan: location, status, next window, expected SoC at the deadline, cost and
    kg CO2 of its schedule, last outcome."""
    from rich.table import Table

    from enode_scheduler.service.outcome import outlook

    settings = settings_from_context(ctx)
    now = clock_for(settings).now()
    views = run_on_store(ctx, _plan_views)
    if as_json:
        typer.echo(json.dumps([_view_json(v, now=now) for v in views], indent=2))
        return
    table = Table(
        "vehicle", "user", "goal", "location", "status", "next window", "expected",
        "cost (saving)", "kg CO2 (saved)", "last outcome",
    )  # fmt: skip
    id_column(table.columns[0], [v.plan.vehicle_id for v in views])
    for v in views:
        p = v.plan
        schedule = v.record.schedule if v.record else None
        look = outlook(p, schedule=schedule, reading=v.reading, now=now)
        tz = ZoneInfo(p.timezone)
        window = (
            f"{look.next_window_start.astimezone(tz):%a %H:%M}-"
            f"{look.next_window_end.astimezone(tz):%H:%M}"
            if look.next_window_start and look.next_window_end
            else "-"
        )
        expected = "-" if look.expected_soc_percent is None else f"{look.expected_soc_percent:.0f}%"
        if look.warning():
            expected += f" ({look.warning()})"
        status = p.shown_status + (f" ({p.status_reason})" if p.status_reason else "")
        status += _site_cell(v.record)
        where = v.place or "-"
        goal = describe(p) + (f", min {p.min_soc_percent:g}%" if p.min_soc_percent else "")
        money, co2 = _schedule_cells(v.record)
        last = v.outcome.describe() if v.outcome else "-"
        table.add_row(
            p.vehicle_id, p.user_id, goal, where, status, window, expected, money, co2, last
        )  # fmt: skip
    table_console().print(table)


@app.command()
def show(
    ctx: typer.Context,
    vehicle_id: Annotated[str, typer.Argument(help="The vehicle (its id, or a unique prefix).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print GET /v1/vehicles/{id}/schedule's body.")
    ] = False,
) -> None:
    """The vehicle's schedule: windows and why, expected SoC and cost, saving, last commands."""
    from enode_scheduler.api.convert import vehicle_schedule_out

    settings = settings_from_context(ctx)
    now = clock_for(settings).now()

    async def gather(store: Store) -> tuple[PlanRecord, Any]:
        plan = await _plan_by_prefix(store, vehicle_id)
        vid = plan.vehicle_id
        return plan, vehicle_schedule_out(
            vid,
            plan=plan,
            reading=(await store.vehicles.latest_readings([vid])).get(vid),
            record=await store.schedules.get_schedule(vid),
            override=await store.overrides.get_override(vid),
            history=await store.intents.history(vid, since=now - timedelta(hours=24)),
            outcome=(await store.outcomes.get_outcomes([vid])).get(vid),
            now=now,
            currency=settings.prices.currency,
        )

    plan, body = run_on_store(ctx, gather)
    if as_json:
        typer.echo(body.model_dump_json(indent=2))
        return
    for line in show_lines(plan, body):
        typer.echo(line)


def show_lines(plan: PlanRecord, body: Any) -> list[str]:
    """`plans show` for a person: times in the plan's zone, money in the configured currency."""
    tz = ZoneInfo(plan.timezone)

    def at(when: datetime | None) -> str:
        return "-" if when is None else f"{when.astimezone(tz):%a %Y-%m-%d %H:%M %Z}"

    cur = body.currency
    lines = [f"{plan.vehicle_id}: {describe(plan)}; plan {plan.status.value}"]
    schedule = body.schedule
    if schedule is None:
        lines.append("no schedule yet (the daemon plans once it has read the car and prices)")
    else:
        lines.append(
            f"deadline {at(schedule.deadline)}: "
            f"expect {schedule.expected_soc_at_deadline_percent:.0f} %"
            + ("" if schedule.feasible else " (cannot reach the target in time)")
        )
        lines.append(
            f"cost {schedule.expected_cost:.2f} {cur} for {schedule.energy_kwh:.1f} kWh; "
            f"at once on plug-in {schedule.cost_if_charged_now:.2f} {cur}; "
            f"saving {schedule.saving:.2f} {cur}"
        )
        for w in schedule.windows:
            lines.append(f"  window {at(w.start)} - {at(w.end)}: {w.explanation}")
        lines.extend(f"  {text}" for text in schedule.explanation if text.startswith("target "))
        if not schedule.feasible:
            lines.append(f"  {schedule.explanation[-1]}")
    if body.override is not None and body.override.active:
        lines.append(f"override: {body.override.action} until {at(body.override.until)}")
    if body.last_outcome is not None:
        lines.append(f"last deadline {at(body.last_outcome.deadline)}: {body.last_outcome.detail}")
    for c in body.commands:
        sent = at(c.sent_at or c.created_at)
        lines.append(f"  command {c.action} at {sent}: {c.status} ({c.reason})")
    return lines


async def _plan_by_prefix(store: Store, vehicle_id: str) -> PlanRecord:
    """The plan of `vehicle_id`, or of the one vehicle whose id starts with it (like git)."""
    plans = await store.plans.list_plans()
    return resolve_prefix({p.vehicle_id: p for p in plans}, vehicle_id, what="plan for vehicle")


def resolve_prefix(items: dict[str, T], key: str, *, what: str) -> T:
    """`items[key]`, or the one item whose key starts with `key`; InvalidInput otherwise."""
    if key in items:
        return items[key]
    found = [k for k in items if k.startswith(key)]
    if len(found) == 1:
        return items[found[0]]
    if not found:
        raise InvalidInput(f"no {what} {key!r}")
    raise InvalidInput(f"{key!r} is ambiguous: {', '.join(sorted(found)[:5])}")


def _view_json(view: _PlanView, *, now: datetime) -> dict[str, Any]:
    from enode_scheduler.service.outcome import outlook

    look = outlook(
        view.plan, schedule=view.record.schedule if view.record else None, reading=view.reading,
        now=now,
    )  # fmt: skip
    outcome = view.outcome
    return {
        **plan_json(view.plan, view.record),
        "next_window": (
            {"start": look.next_window_start.isoformat(), "end": look.next_window_end.isoformat()}
            if look.next_window_start and look.next_window_end
            else None
        ),
        "expected_soc_at_deadline": look.expected_soc_percent,
        "feasible": look.feasible,
        "capped_at_percent": look.capped_at_percent,
        "outcome": None
        if outcome is None
        else {
            "kind": outcome.kind.value,
            "detail": outcome.describe(),
            "deadline": outcome.deadline.isoformat(),
            "target_soc_percent": outcome.target_soc_percent,
            "soc_percent": outcome.soc_percent,
        },
    }


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
    vehicle_id: Annotated[
        str, typer.Argument(help="The vehicle whose plan to remove (its id, or a unique prefix).")
    ],
) -> None:
    """Remove the vehicle's plan; the daemon stops managing it."""

    async def remove_one(store: Store) -> str | None:
        try:
            plan = await _plan_by_prefix(store, vehicle_id)
        except InvalidInput:
            return None
        return plan.vehicle_id if await store.plans.delete_plan(plan.vehicle_id) else None

    removed = run_on_store(ctx, remove_one)
    if removed is None:
        typer.echo(f"error: no plan for vehicle {vehicle_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"plan removed for {removed}")


def describe(plan: PlanRecord) -> str:
    if plan.energy_kwh is not None:
        goal, via = f"{plan.energy_kwh:g} kWh through the charger", ""
    else:
        goal = f"{plan.target_soc_percent:g}%"
        via = f" via charger {plan.charger_id}" if plan.charger_id else ""
    if plan.deadline is not None:
        local = plan.deadline.astimezone(ZoneInfo(plan.timezone))
        return f"{goal} by {local:%Y-%m-%d %H:%M} {plan.timezone}{via}"
    days = ",".join(DAYS[d] for d in sorted(plan.weekdays))
    at = plan.local_time.strftime("%H:%M") if plan.local_time else "?"
    return f"{goal} at {at} {plan.timezone} on {days}{via}"


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
        "target": plan.target.value,
        "charger_id": plan.charger_id,
        "energy_kwh": plan.energy_kwh,
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
