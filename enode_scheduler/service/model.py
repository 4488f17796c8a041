"""What the reconciler works with: its ports, one car's remembered state, a step's counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Protocol

from enode_scheduler.config import SchedulerSettings
from enode_scheduler.planner.models import Goal, Schedule, Slot, VehicleState
from enode_scheduler.ports import (
    ChargerStore,
    CommandIntentStore,
    EnodeApi,
    IntensitySlotStore,
    OutcomeStore,
    OverrideStore,
    PlanStore,
    PriceSlotStore,
    ScheduleStore,
    SiteStore,
    VehicleStore,
)
from enode_scheduler.records import (
    CarStatus,
    ChargeAction,
    ChargerReading,
    CommandIntent,
    EnergyBaseline,
    OverrideRecord,
    PlanRecord,
    PlanStatus,
    Presence,
    ScheduleRecord,
    VehicleReading,
)
from enode_scheduler.service import decide, polling


class PlanFn(Protocol):
    def __call__(
        self,
        state: VehicleState,
        goal: Goal,
        slots: Sequence[Slot],
        *,
        now: datetime,
        tail_price_per_kwh: float | None = None,
        tail_g_co2_per_kwh: float = 0.0,
    ) -> Schedule: ...


class DeadlineFn(Protocol):
    def __call__(
        self, *, weekdays: frozenset[int], local_time: time, tz: str, now: datetime
    ) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """The adapters one reconcile step reads and writes."""

    enode: EnodeApi
    vehicles: VehicleStore
    plans: PlanStore
    schedules: ScheduleStore
    intents: CommandIntentStore
    price_slots: PriceSlotStore
    # Manual charge_now / pause; None: no overrides (the plan always decides).
    overrides: OverrideStore | None = None
    # Chargers' readings and energy baselines; None: no charger plans are run.
    chargers: ChargerStore | None = None
    # Where deadline outcomes go; None: not recorded (logged only).
    outcomes: OutcomeStore | None = None
    # Carbon intensity per region; None: plans see prices only.
    intensity: IntensitySlotStore | None = None
    # Sites (several cars under one cap); None: every car is planned on its own.
    sites: SiteStore | None = None


@dataclass(frozen=True, slots=True)
class Co2Objective:
    """What CO2 weighs in plans (`[co2]` settings); a plan's own price per kg overrides it."""

    zone: str  # the region the intensity is stored under
    price_per_kg: float = 0.0
    minimise: bool = False

    def weigh(self, goal: Goal, plan_price_per_kg: float | None) -> Goal:
        """`goal` with this objective, or with the plan's own price per kg when it has one."""
        if plan_price_per_kg is not None:
            return replace(goal, co2_price_per_kg=plan_price_per_kg, minimise_co2=False)
        return replace(goal, co2_price_per_kg=self.price_per_kg, minimise_co2=self.minimise)


# The fencing epoch this process holds for a shard, or None while it must not send for it.
EpochOf = Callable[[int], int | None]


@dataclass(slots=True)
class Car:
    """What the daemon remembers about one planned car between steps."""

    plan: PlanRecord
    reading: VehicleReading | None = None
    previous: VehicleReading | None = None
    read_at: datetime | None = None  # the step that read it
    # When the request for `reading` went out, on the clock: a step can take seconds, and a
    # verification must not take a read from before the command for one after it.
    asked_at: datetime | None = None
    handled_at: datetime | None = None
    record: ScheduleRecord | None = None
    anchor_soc_percent: float | None = None
    next_poll_at: datetime | None = None
    intent: CommandIntent | None = None
    failed_attempts: int = 0
    plan_edited: bool = False
    # computed_at of the schedule whose last window this car is charging past (logged once).
    extended_for: datetime | None = None
    power_kw: float | None = None
    override: OverrideRecord | None = None
    planned_power_kw: float | None = None
    # After a failed read: no request for this car before then (Retry-After, closed gate).
    poll_not_before: datetime | None = None
    # Nobody acted on this car for a while (a restart, a takeover, a database outage): a window
    # may have passed unused, so it is replanned from its next fresh reading whatever the curve.
    catch_up: bool = False
    # This car's own trouble (see records.CarStatus); the rest of the fleet is not held up by it.
    status: CarStatus = CarStatus.OK
    status_reason: str | None = None
    status_since: datetime | None = None
    # A plan through a charger: the charger's latest reading (with our energy meter), and for a
    # charger-only plan where its energy count starts.
    charger: ChargerReading | None = None
    baseline: EnergyBaseline | None = None
    # The deadline whose outcome is recorded, and the outlook warning last logged (each once).
    outcome_for: datetime | None = None
    outlook_warned: str | None = None
    # Logged once per plug-in away from the plan's location / per fast-charging session.
    away_logged: bool = False
    fast_logged: bool = False
    # The site whose cars this one is planned with (plugged in there), or None: on its own.
    site: str | None = None
    # The shard of the plan's user (`Reconciler.shard_of_user`): its commands carry its epoch.
    shard: int = 0


@dataclass(slots=True)
class StepReport:
    """Counts for the one summary log line per step, and the metrics."""

    polled: int = 0
    poll_errors: int = 0
    rejected_readings: int = 0
    replanned: int = 0
    started: int = 0
    stopped: int = 0
    verified: int = 0
    send_failures: int = 0
    plans_failed: int = 0
    # Of the above, what went through chargers (plans with a charger_id).
    charger_reads: int = 0
    charger_commands: int = 0
    waiting_for_prices: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(slots=True)
class Outbox:
    """What one batch of cars decided: written in one go, then sent concurrently."""

    schedules: list[ScheduleRecord] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # intent key -> why
    sends: list[tuple[Car, ChargeAction]] = field(default_factory=list)
    presences: dict[str, Presence] = field(default_factory=dict)  # vehicle id -> where now


def soc(car: Car) -> float | None:
    return car.reading.soc_percent if car.reading else None


def active_plan(car: Car) -> PlanRecord | None:
    return car.plan if car.plan.status is PlanStatus.ACTIVE else None


def where(car: Car, settings: SchedulerSettings) -> tuple[Presence, bool]:
    """Where the car is for its plan, and whether the plan applies there (see `decide`)."""
    if car.reading is None:
        return Presence.LOCATION_UNKNOWN, False
    found = decide.presence(car.reading, car.plan.location_id)
    return found, decide.plan_applies(found, unknown_location=settings.unknown_location)


def plan_view(car: Car, settings: SchedulerSettings) -> VehicleReading | None:
    """The car's latest reading as its plan sees it (plugged in elsewhere counts as unplugged)."""
    if car.reading is None:
        return None
    return decide.as_plan_sees_it(car.reading, applies=where(car, settings)[1])


def regular_poll_at(car: Car, *, now: datetime, settings: SchedulerSettings) -> datetime:
    """When the car is next read if nothing comes up (see `polling.next_poll_at`)."""
    return polling.next_poll_at(
        vehicle_id=car.plan.vehicle_id,
        reading=plan_view(car, settings),
        plan=active_plan(car),
        schedule=car.record.schedule if car.record is not None else None,
        now=now,
        settings=settings,
    )
