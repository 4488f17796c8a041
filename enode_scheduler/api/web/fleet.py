"""The fleet table: one row per vehicle and per charger-only plan (from its charger's reading),
built from a few batched reads and kept in memory.

Many browsers polling the page cost one build per `ttl_s`, however many there are: the rows are
built once, then filtered and paginated per request. The time to live grows with the build's own
cost (ten times it), so a big fleet is never rebuilt more than a tenth of the time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.api.web.chargers import energy_views
from enode_scheduler.planner.models import Window
from enode_scheduler.records import (
    CarHealth,
    CarStatus,
    OutcomeKind,
    PlanOutcome,
    PlanRecord,
    PlanStatus,
    Presence,
    ScheduleRecord,
    UserRecord,
    VehicleReading,
    outcome_kind,
)
from enode_scheduler.service.decide import UnknownLocation, presence

__all__ = [
    "FleetPage",
    "FleetRow",
    "FleetView",
    "Location",
    "Problem",
    "left_alone",
    "location_status",
    "plan_status_label",
    "problems_of",
]

# A reading older than this says little about the car now.
STALE_AFTER = timedelta(hours=6)


class Location(StrEnum):
    """Where the car is, measured against its plan's charging location when the plan has one."""

    AT_PLAN_LOCATION = "at_plan_location"
    # No plan location to compare with: at one of the user's charging locations.
    AT_CHARGING_LOCATION = "at_charging_location"
    AWAY = "away"
    UNKNOWN = "location_unknown"

    @property
    def label(self) -> str:
        return _LOCATION_LABELS[self]


_LOCATION_LABELS = {
    Location.AT_PLAN_LOCATION: "at the plan's location",
    Location.AT_CHARGING_LOCATION: "at a charging location",
    Location.AWAY: "away",
    Location.UNKNOWN: "unknown",
}


class Problem(StrEnum):
    """What needs a person, most urgent first (the order the fleet table sorts by)."""

    RELINK_REQUIRED = "relink_required"
    ERROR = "error"
    MISSED = "missed"
    # An active plan naming no charging location: the daemon never acts on the car.
    NO_LOCATION = "no_location"
    OUTAGE = "outage"
    AT_RISK = "at_risk"
    STALE = "stale"

    @property
    def label(self) -> str:
        return "no location: not controlled" if self is Problem.NO_LOCATION else self.value


@dataclass(frozen=True, slots=True)
class FleetRow:
    vehicle_id: str
    user_id: str
    vendor: str | None
    location: Location
    plugged_in: bool | None
    charging: bool | None
    soc_percent: float | None
    last_seen: datetime | None
    plan: PlanRecord | None
    deadline: datetime | None
    next_window: Window | None
    expected_soc_percent: float | None
    outcome: str
    problems: tuple[Problem, ...]
    # `away` / `location_unknown`: the plan is not acting where the car is (see `left_alone`).
    left_alone: str | None = None
    # The schedule's kg CO2 when a CO2 source is configured.
    co2_kg: float | None = None
    # The charger the plan acts through (a charger-only plan's is its own id).
    charger_id: str | None = None
    # A charger-only plan's goal and what its charger delivered this cycle (None: not known);
    # its `soc_percent` is the share of the goal, not a battery level.
    energy_goal_kwh: float | None = None
    delivered_kwh: float | None = None

    @property
    def energy_only(self) -> bool:
        return self.energy_goal_kwh is not None

    @property
    def expected_kwh(self) -> float | None:
        """A charger-only plan's expected energy at the deadline."""
        if self.energy_goal_kwh is None or self.expected_soc_percent is None:
            return None
        return self.energy_goal_kwh * self.expected_soc_percent / 100

    def matches(self, query: str) -> bool:
        q = query.casefold()
        ids = (self.vehicle_id, self.user_id, self.charger_id or "")
        return any(q in i.casefold() for i in ids)


@dataclass(frozen=True, slots=True)
class FleetPage:
    rows: Sequence[FleetRow]
    page: int
    pages: int
    total: int
    with_problems: int
    # Whether a CO2 source is configured (the table gets a kg CO2 column).
    co2: bool = False


def location_status(reading: VehicleReading, plan: PlanRecord | None = None) -> Location:
    """Where the car is, by the rule the daemon follows (`decide.presence`) for a plan with a
    location; otherwise whether it stands at one of the user's charging locations."""
    if plan is not None and plan.location_id is not None:
        return _BY_PRESENCE[presence(reading, plan.location_id)]
    if reading.charging_location_id is not None:
        return Location.AT_CHARGING_LOCATION
    return Location.AWAY if reading.position_known else Location.UNKNOWN


_BY_PRESENCE = {
    Presence.AT_LOCATION: Location.AT_PLAN_LOCATION,
    Presence.AWAY: Location.AWAY,
    Presence.LOCATION_UNKNOWN: Location.UNKNOWN,
    Presence.NO_LOCATION: Location.UNKNOWN,  # not reached: the plan has a location
}


_PLAN_STATUS_LABELS = {
    Presence.AWAY.value: "away: not followed there",
    Presence.LOCATION_UNKNOWN.value: "location unknown",
    Presence.NO_LOCATION.value: "no location: not controlled",
}


def plan_status_label(plan: PlanRecord) -> str:
    """The plan's shown status (`PlanRecord.shown_status`) in words."""
    if not plan.enabled:
        return "disabled"
    shown = plan.shown_status
    return _PLAN_STATUS_LABELS.get(shown, shown)


def left_alone(
    plan: PlanRecord | None, *, unknown_location: UnknownLocation = "skip"
) -> str | None:
    """`away` or `location_unknown` when an active plan is not acting where the car is (the
    daemon's last verdict, as `plans list` and the API show it); not a problem, but not `ok`.
    With `[scheduler] unknown_location = "act"` a car whose position is unknown is controlled."""
    if plan is None or not plan.enabled:
        return None
    shown = plan.shown_status
    if shown == Presence.LOCATION_UNKNOWN and unknown_location == "act":
        return None
    return shown if shown in (Presence.AWAY, Presence.LOCATION_UNKNOWN) else None


def problems_of(
    reading: VehicleReading,
    user: UserRecord | None,
    plan: PlanRecord | None,
    record: ScheduleRecord | None,
    *,
    now: datetime,
    paused_vendors: frozenset[str] = frozenset(),
    health: CarHealth | None = None,
    outcome: PlanOutcome | None = None,
) -> tuple[Problem, ...]:
    """Every problem of one car: the one place where the statuses of later work plug in.

    `health` is the running daemon's view of the car (`Reconciler.health`): it knows a refused
    link or an outage before the store does, and alone knows a car's own `error` (a token that
    does not decrypt, a malformed answer, an unexpected exception). `missed` is the recorded
    outcome of the last deadline when there is one (a repeating plan's too); else a one-off plan
    that is done, judged as the outcome would be.
    """
    status = health.status if health is not None else CarStatus.OK
    found: list[Problem] = []
    if (user is not None and user.needs_relink) or status is CarStatus.RELINK_REQUIRED:
        found.append(Problem.RELINK_REQUIRED)
    if (
        reading.vendor is not None and reading.vendor in paused_vendors
    ) or status is CarStatus.VENDOR_OUTAGE:
        found.append(Problem.OUTAGE)
    if status is CarStatus.ERROR or (plan is not None and plan.status is PlanStatus.FAILED):
        found.append(Problem.ERROR)
    if _missed(reading, plan, outcome):
        found.append(Problem.MISSED)
    if plan is not None and plan.enabled and plan.shown_status == Presence.NO_LOCATION:
        found.append(Problem.NO_LOCATION)
    if (
        plan is not None
        and plan.status is PlanStatus.ACTIVE
        and record is not None
        and record.deadline > now
        and record.schedule.soc_at_deadline_percent < plan.target_soc_percent - 0.5
    ):
        found.append(Problem.AT_RISK)
    if reading.last_seen is None or now - reading.last_seen > STALE_AFTER:
        found.append(Problem.STALE)
    return tuple(found)


_MISSED = (OutcomeKind.MISSED, OutcomeKind.INFEASIBLE)


def _missed(reading: VehicleReading, plan: PlanRecord | None, outcome: PlanOutcome | None) -> bool:
    if plan is None:
        return False
    if outcome is not None:
        return outcome.kind in _MISSED
    if plan.status is not PlanStatus.DONE or reading.soc_percent is None:
        return False
    kind = outcome_kind(
        target_percent=plan.target_soc_percent,
        soc_percent=reading.soc_percent,
        limit_percent=reading.charge_limit_percent,
        feasible=None,
    )
    return kind in _MISSED


def _outcome(plan: PlanRecord | None, outcome: PlanOutcome | None = None) -> str:
    """The plan's state, then how its last deadline went (`met`, `missed by 9 %`, ...)."""
    if plan is None:
        return "no plan"
    if not plan.enabled:
        return "disabled"
    if plan.status is PlanStatus.FAILED:
        state = f"failed: {plan.status_reason}" if plan.status_reason else "failed"
    else:
        state = plan.status.value
    return state if outcome is None else f"{state}; last: {outcome.describe()}"


def _next_window(record: ScheduleRecord | None, now: datetime) -> Window | None:
    if record is None:
        return None
    return next((w for w in record.schedule.windows if w.end > now), None)


def _sort_key(row: FleetRow) -> tuple[int, str, str]:
    urgency = min((list(Problem).index(p) for p in row.problems), default=len(Problem))
    return urgency, row.user_id, row.vehicle_id


class FleetView:
    """Builds the rows from the ports, at most once per time to live (wall-clock seconds, since it
    bounds CPU, not a schedule: `monotonic` is injectable for tests)."""

    def __init__(
        self,
        deps: ApiDeps,
        *,
        ttl_s: float = 5.0,
        page_size: int = 50,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deps = deps
        self._min_ttl_s = ttl_s
        self._ttl_s = ttl_s
        self.page_size = page_size
        self._monotonic = monotonic
        self._rows: list[FleetRow] = []
        self._built_at: float | None = None
        self._lock = asyncio.Lock()
        self._co2 = deps.web is not None and deps.web.intensity is not None

    async def rows(self) -> list[FleetRow]:
        async with self._lock:
            started = self._monotonic()
            if self._built_at is None or started - self._built_at >= self._ttl_s:
                self._rows = await self._build(self._deps.clock.now())
                self._built_at = self._monotonic()
                self._ttl_s = max(self._min_ttl_s, 10 * (self._built_at - started))
            return self._rows

    async def page(
        self, *, query: str = "", page: int = 1, problems_only: bool = False
    ) -> FleetPage:
        rows = await self.rows()
        if query:
            rows = [r for r in rows if r.matches(query)]
        if problems_only:
            rows = [r for r in rows if r.problems]
        pages = max(1, -(-len(rows) // self.page_size))
        page = min(max(1, page), pages)
        start = (page - 1) * self.page_size
        return FleetPage(
            rows=rows[start : start + self.page_size],
            page=page,
            pages=pages,
            total=len(rows),
            with_problems=sum(1 for r in rows if r.problems),
            co2=self._co2,
        )

    async def _build(self, now: datetime) -> list[FleetRow]:
        d = self._deps
        plan_list = await d.plans.list_plans()
        plans = {p.vehicle_id: p for p in plan_list}
        # A charger-only plan's row comes from its charger (an id is a car's or a charger's).
        energy = await energy_views(d.chargers, plan_list)
        readings = {
            vid: r for vid, r in (await d.vehicles.latest_readings()).items() if vid not in energy
        }
        records = await d.schedules.get_schedules([*readings, *energy])
        facts = _Facts(
            now=now,
            users={u.user_id: u for u in await d.users.list_users()},
            paused=d.web.paused_vendors() if d.web else frozenset(),
            health={h.vehicle_id: h for h in d.health()} if d.health else {},
            unknown_location=d.web.unknown_location if d.web else "skip",
            co2=self._co2,
        )
        outcomes = await d.outcomes.get_outcomes(list(plans)) if d.outcomes else {}
        rows = [
            _row(reading, plans.get(vid), records.get(vid), outcomes.get(vid), facts)
            for vid, reading in readings.items()
        ]
        rows += [
            dataclasses.replace(
                _row(view.reading, plans[vid], records.get(vid), outcomes.get(vid), facts),
                energy_goal_kwh=view.goal_kwh,
                delivered_kwh=view.delivered_kwh,
            )
            for vid, view in energy.items()
        ]
        rows.sort(key=_sort_key)
        return rows


@dataclass(frozen=True, slots=True)
class _Facts:
    """What every row of one build is judged against."""

    now: datetime
    users: dict[str, UserRecord]
    paused: frozenset[str]
    health: dict[str, CarHealth]
    unknown_location: UnknownLocation
    co2: bool


def _row(
    reading: VehicleReading,
    plan: PlanRecord | None,
    record: ScheduleRecord | None,
    outcome: PlanOutcome | None,
    facts: _Facts,
) -> FleetRow:
    vid = reading.vehicle_id
    return FleetRow(
        vehicle_id=vid,
        user_id=reading.user_id,
        vendor=reading.vendor,
        location=location_status(reading, plan),
        plugged_in=reading.is_plugged_in,
        charging=reading.is_charging,
        soc_percent=reading.soc_percent,
        last_seen=reading.last_seen,
        plan=plan,
        deadline=record.deadline if record else (plan.deadline if plan else None),
        next_window=_next_window(record, facts.now),
        expected_soc_percent=record.schedule.soc_at_deadline_percent if record else None,
        outcome=_outcome(plan, outcome),
        problems=problems_of(
            reading,
            facts.users.get(reading.user_id),
            plan,
            record,
            now=facts.now,
            paused_vendors=facts.paused,
            health=facts.health.get(vid),
            outcome=outcome,
        ),
        left_alone=left_alone(plan, unknown_location=facts.unknown_location),
        co2_kg=record.schedule.co2_kg if record and facts.co2 else None,
        charger_id=plan.charger_id if plan else None,
    )
