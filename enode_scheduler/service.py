"""The imperative shell: one reconcile step = read -> plan -> persist -> act, at a given `now`.

`Reconciler` keeps a small in-memory view of the fleet (plans, latest readings, schedules, commands
in flight), rebuilt from the database by `load()`, so a step costs a handful of batched queries
however many cars there are. Only due cars are touched: a poll is due, a window boundary passed,
a command waits for verification, or prices changed. Decisions are the pure functions in `decide`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

import structlog

from enode_scheduler import decide
from enode_scheduler.clock import Clock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.exceptions import (
    EnodeError,
    EnodeGateClosed,
    EnodeMalformedResponse,
    EnodeRateLimited,
    EnodeServerError,
    EnodeTransportError,
    InvalidInput,
    NeedsRelink,
    StaleEpoch,
)
from enode_scheduler.overrides import OverrideRecord, OverrideStore, desired_charging
from enode_scheduler.planner.models import Goal, Schedule, Slot, VehicleState
from enode_scheduler.planner.timeline import estimate_tail_price
from enode_scheduler.ports import (
    ChargeAction,
    CommandIntent,
    CommandIntentStore,
    EnodeApi,
    IntentStatus,
    PlanRecord,
    PlanStatus,
    PlanStore,
    PriceSlotStore,
    ScheduleRecord,
    ScheduleStore,
    VehicleReading,
    VehicleStore,
)
from enode_scheduler.wake_queue import WakeQueue

log = structlog.get_logger()


class PlanFn(Protocol):
    def __call__(
        self,
        state: VehicleState,
        goal: Goal,
        slots: Sequence[Slot],
        *,
        now: datetime,
        tail_price_per_kwh: float | None = None,
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
    waiting_for_prices: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(slots=True)
class _Outbox:
    """What one batch of cars decided: written in one go, then sent concurrently."""

    schedules: list[ScheduleRecord] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # intent key -> why
    sends: list[tuple[Car, ChargeAction]] = field(default_factory=list)


class LostLeadership(Exception):
    """The fencing epoch was refused: another process leads now; stop sending at once."""


class Reconciler:
    """Plans each car and makes its charging follow the plan; see the module docstring."""

    def __init__(
        self,
        ports: Ports,
        settings: SchedulerSettings,
        *,
        zone: str,
        planner: PlanFn,
        next_deadline: DeadlineFn,
        price_view: Callable[[list[Slot]], list[Slot]] = list,
        max_concurrent_reads: int = 32,
        max_concurrent_commands: int = 16,
        clock: Clock,
    ) -> None:
        self._ports = ports
        self._clock = clock
        self._settings = settings
        self._zone = zone
        self._planner = planner
        self._next_deadline = next_deadline
        self._price_view = price_view
        self._read_limit = asyncio.Semaphore(max_concurrent_reads)
        self._command_limit = asyncio.Semaphore(max_concurrent_commands)
        self.cars: dict[str, Car] = {}
        self._slots: list[Slot] = []
        self._slots_loaded_at: datetime | None = None
        self._prices_changed_at: datetime | None = None
        self._smart_charging_warned: set[str] = set()
        self._all_due = True
        self._wakes = WakeQueue()

    # -- loading -----------------------------------------------------------------------------

    async def load(self, *, now: datetime) -> None:
        """Rebuild the in-memory view from the database (at start and on gaining leadership)."""
        self.cars = {}
        self._wakes.clear()
        await self.refresh_plans(now=now)
        ids = list(self.cars)
        readings = await self._ports.vehicles.latest_readings(ids)
        records = await self._ports.schedules.get_schedules(ids)
        in_flight = await self._ports.intents.in_flight(ids)
        overrides = await self._ports.overrides.get_overrides(ids) if self._ports.overrides else {}
        for vid, car in self.cars.items():
            car.reading = readings.get(vid)
            car.record = records.get(vid)
            car.intent = in_flight.get(vid)
            car.override = overrides.get(vid)
            edited = car.plan.updated_at
            car.plan_edited = bool(car.record and edited and edited > car.record.computed_at)
            # Reconcile before anything else after a restart: every car is due at once.
            car.next_poll_at = now
        self._all_due = True
        log.info("fleet_loaded", vehicles=len(ids), in_flight=len(in_flight), at=now.isoformat())

    async def refresh_plans(self, *, now: datetime) -> int:
        """Pick up added, edited and removed plans; returns how many changed."""
        plans = {p.vehicle_id: p for p in await self._ports.plans.list_plans(enabled_only=True)}
        changed = 0
        for vid in [v for v in self.cars if v not in plans]:
            del self.cars[vid]
            self._wakes.discard(vid)
            changed += 1
        for vid, plan in plans.items():
            car = self.cars.get(vid)
            if car is None:
                self.cars[vid] = Car(plan=plan, next_poll_at=now)
            elif car.plan != plan:
                if plan.updated_at != car.plan.updated_at:
                    car.failed_attempts, car.plan_edited = 0, True
                car.plan = plan
                car.next_poll_at = now
            else:
                continue
            self._wakes.set(vid, now)
            changed += 1
        return changed

    async def reconcile_soon(self, vehicle_id: str, *, now: datetime) -> bool:
        """Re-read the car's override and poll it at the next step; False for an unplanned car."""
        car = self.cars.get(vehicle_id)
        if car is None:
            return False
        if self._ports.overrides is not None:
            car.override = await self._ports.overrides.get_override(vehicle_id)
        car.next_poll_at = now
        self._wakes.set(vehicle_id, now)
        return True

    def prices_changed(self, *, at: datetime) -> None:
        """New price slots were stored: replan every car at the next step."""
        self._prices_changed_at = at
        self._slots_loaded_at = None
        self._all_due = True

    # -- one step ----------------------------------------------------------------------------

    async def step(self, *, now: datetime, epoch: int | None) -> StepReport:
        """Read due cars, replan where needed, persist, and send commands (only with an epoch)."""
        report = StepReport()
        slots = await self._load_slots(now)
        if self._all_due:
            # Every car is due, but in bounded steps: a window boundary that comes while the
            # fleet is replanned (new prices, a restart) waits for one step, not for the fleet.
            self._wakes.wake_by(self.cars, now)
        self._all_due = False
        limit = self._settings.max_cars_per_step
        due = [self.cars[vid] for vid in self._wakes.pop_due(now, limit=limit) if vid in self.cars]
        try:
            await self._step_cars(due, slots, now=now, epoch=epoch, report=report)
        except BaseException:
            # Cars taken off the queue but not handled must not be forgotten.
            self._all_due = True
            raise
        if report.waiting_for_prices:
            # One line per step: on a first start the whole fleet waits for the first prices.
            waiting = report.waiting_for_prices
            log.warning(
                "plan_waiting_for_prices", zone=self._zone, vehicles=len(waiting),
                vehicle_ids=waiting[:10],
            )  # fmt: skip
        return report

    async def _step_cars(
        self,
        due: list[Car],
        slots: list[Slot],
        *,
        now: datetime,
        epoch: int | None,
        report: StepReport,
    ) -> None:
        to_read = [c for c in due if c.next_poll_at is None or c.next_poll_at <= now]
        reading = {id(c) for c in to_read}
        # Cars at a window boundary act on their latest reading first, so their commands do not
        # wait behind the polls of the rest of the fleet.
        at_boundary = [c for c in due if id(c) not in reading]
        await self._handle(at_boundary, slots, now=now, epoch=epoch, report=report)
        fresh = await self._read(to_read, now=now, report=report)
        if fresh:
            await self._ports.vehicles.save_readings(fresh)
        await self._handle(to_read, slots, now=now, epoch=epoch, report=report)

    def next_wake(self, *, now: datetime) -> datetime:
        """The earliest instant a car becomes due (capped by the safety tick)."""
        cap = now + timedelta(seconds=self._settings.safety_tick_s)
        if self._all_due:
            return now
        earliest = self._wakes.earliest()
        return cap if earliest is None else min(cap, earliest)

    def _wake_at(self, car: Car) -> datetime:
        times = [car.next_poll_at] if car.next_poll_at is not None else []
        if car.record is not None and car.handled_at is not None:
            boundary = car.record.schedule.next_boundary(car.handled_at)
            if boundary is not None:
                times.append(boundary)
            if car.record.deadline > car.handled_at:
                times.append(car.record.deadline)
        if car.override is not None and car.override.until is not None:
            times.append(car.override.until)
        return min(times, default=_NEVER)

    async def _load_slots(self, now: datetime) -> list[Slot]:
        stale = self._slots_loaded_at is None or now - self._slots_loaded_at > timedelta(hours=1)
        if stale:
            raw = await self._ports.price_slots.get_slots(
                self._zone, start=now - timedelta(hours=1), end=now + timedelta(days=8)
            )
            self._slots = self._price_view(raw)
            self._slots_loaded_at = now
        return self._slots

    # -- reading -----------------------------------------------------------------------------

    async def _read(
        self, cars: list[Car], *, now: datetime, report: StepReport
    ) -> list[VehicleReading]:
        by_user: dict[str, list[Car]] = defaultdict(list)
        for car in cars:
            by_user[car.plan.user_id].append(car)
        vendors = self._vendors_of([u for u, cs in by_user.items() if len(cs) > 1])
        calls = [
            self._read_user(u, group, now=now)
            for u, cs in by_user.items()
            for group in _read_groups(cs, vendors.get(u, set()))
        ]
        batches = await asyncio.gather(*calls)
        fresh: list[VehicleReading] = []
        for readings, errors, asked_at in batches:
            fresh.extend(readings)
            report.poll_errors += errors
            for reading in readings:
                car = self.cars[reading.vehicle_id]
                car.reading, car.read_at, car.asked_at = reading, now, asked_at
                car.poll_not_before = None
                if reading.is_charging and reading.charge_rate_kw:
                    car.power_kw = reading.charge_rate_kw
        report.polled = len(fresh)
        return fresh

    def _vendors_of(self, user_ids: list[str]) -> dict[str, set[str | None]]:
        """The makes of each user's planned cars (one pass over the fleet, only when needed)."""
        wanted = set(user_ids)
        found: dict[str, set[str | None]] = defaultdict(set)
        if wanted:
            for c in self.cars.values():
                if c.plan.user_id in wanted:
                    found[c.plan.user_id].add(c.reading.vendor if c.reading else None)
        return found

    async def _read_user(
        self, user_id: str, cars: list[Car], *, now: datetime
    ) -> tuple[list[VehicleReading], int, datetime]:
        wanted = {c.plan.vehicle_id for c in cars}
        asked_at = now
        try:
            async with self._read_limit:
                asked_at = self._clock.now()
                if len(cars) > 1:
                    got = await self._ports.enode.list_vehicles(user_id)
                else:
                    got = [await self._ports.enode.get_vehicle(user_id, cars[0].plan.vehicle_id)]
        except EnodeError as exc:
            self._postpone(cars, exc, now=now)
            return [], 1, asked_at
        good = [r for r in got if r.vehicle_id in wanted and _plausible(r)]
        for r in got:
            if r.vehicle_id in wanted and not _plausible(r):
                log.warning("reading_rejected", vehicle_id=r.vehicle_id, soc_percent=r.soc_percent)
        return good, 0, asked_at

    def _postpone(self, cars: list[Car], exc: EnodeError, *, now: datetime) -> None:
        s = self._settings
        if isinstance(exc, EnodeGateClosed):
            wait_s = exc.reopens_in_s
        elif isinstance(exc, EnodeRateLimited) and exc.retry_after_s is not None:
            wait_s = exc.retry_after_s
        elif isinstance(exc, NeedsRelink):
            wait_s = s.poll_unplugged_s
        else:
            wait_s = s.poll_near_boundary_s
        level = "info" if isinstance(exc, EnodeGateClosed | EnodeRateLimited) else "warning"
        event = "reading_malformed" if isinstance(exc, EnodeMalformedResponse) else "poll_failed"
        getattr(log, level)(
            event, user_id=cars[0].plan.user_id, error=type(exc).__name__, retry_in_s=wait_s
        )
        for car in cars:
            retry_at = now + timedelta(seconds=max(wait_s, 1.0))
            if decide.is_idle(car.reading, self._active_plan(car)):
                # An unplugged or full car only needs its regular slow poll: retrying it at every
                # Retry-After would read it more often in a vendor's storm than in calm weather.
                retry_at = max(retry_at, self._regular_poll_at(car, now=now))
            car.next_poll_at = car.poll_not_before = retry_at

    # -- per car: plan, verify, act ----------------------------------------------------------

    async def _handle(
        self,
        cars: list[Car],
        slots: list[Slot],
        *,
        now: datetime,
        epoch: int | None,
        report: StepReport,
    ) -> None:
        """Decide for each car, then write the schedules in one go and send the commands.

        At a busy boundary hundreds of cars start at once: one write per car and commands sent
        one after another would make the last car's start wait for all the others.
        """
        outbox = _Outbox()
        for car in cars:
            await self._decide(car, slots, now=now, epoch=epoch, report=report, outbox=outbox)
        if outbox.schedules:
            await self._ports.schedules.save_schedules(outbox.schedules)
        if outbox.verified or outbox.failed:
            await self._ports.intents.record_outcomes(outbox.verified, outbox.failed, at=now)
        if outbox.sends and epoch is not None:
            await self._send(outbox.sends, now=now, epoch=epoch, report=report)
        for car in cars:
            self._schedule_poll(car, now=now)
            # Handling a car again at the same instant changes nothing; a wish in the past (a
            # deadline gone by, a verification the gate holds back) must not spin the loop.
            self._wakes.set(car.plan.vehicle_id, max(self._wake_at(car), now + _REHANDLE_AFTER))

    async def _decide(
        self,
        car: Car,
        slots: list[Slot],
        *,
        now: datetime,
        epoch: int | None,
        report: StepReport,
        outbox: _Outbox,
    ) -> None:
        if car.reading is not None and car.plan.status is PlanStatus.ACTIVE:
            deadline = self._deadline(car.plan, now=now)
            if deadline is not None:
                self._maybe_replan(
                    car, slots, deadline=deadline, now=now, report=report, outbox=outbox
                )
            self._verify(car, now=now, report=report, outbox=outbox)
            # Past a one-off deadline every window is over: a car still charging is stopped
            # once, then the finished plan leaves it alone.
            finished = deadline is None
            await self._act(
                car, now=now, epoch=epoch, report=report, outbox=outbox, finished=finished
            )
            if finished:
                await self._finish(car, now=now)
        elif car.reading is not None:
            self._verify(car, now=now, report=report, outbox=outbox)
        car.previous, car.handled_at = car.reading, now

    def _schedule_poll(self, car: Car, *, now: datetime) -> None:
        planned = car.next_poll_at
        if planned is None or planned <= now or car.read_at == now:
            planned = self._regular_poll_at(car, now=now)
        car.next_poll_at = planned
        # A command sent at a boundary (without a read) is verified on time, not at the next
        # regular poll: until then the car cannot take its next command.
        intent = car.intent
        if intent is not None and intent.status is IntentStatus.SENT:
            verify_at = (intent.sent_at or now) + timedelta(seconds=self._settings.verify_delay_s)
            car.next_poll_at = min(car.next_poll_at, max(verify_at, now))
        if car.poll_not_before is not None:
            car.next_poll_at = max(car.next_poll_at, car.poll_not_before)

    def _regular_poll_at(self, car: Car, *, now: datetime) -> datetime:
        return decide.next_poll_at(
            vehicle_id=car.plan.vehicle_id,
            reading=car.reading,
            plan=self._active_plan(car),
            schedule=car.record.schedule if car.record is not None else None,
            now=now,
            settings=self._settings,
        )

    @staticmethod
    def _active_plan(car: Car) -> PlanRecord | None:
        return car.plan if car.plan.status is PlanStatus.ACTIVE else None

    def _deadline(self, plan: PlanRecord, *, now: datetime) -> datetime | None:
        if plan.deadline is not None:
            return plan.deadline if plan.deadline > now else None
        assert plan.local_time is not None
        return self._next_deadline(
            weekdays=plan.weekdays, local_time=plan.local_time, tz=plan.timezone, now=now
        )

    async def _finish(self, car: Car, *, now: datetime) -> None:
        await self._ports.plans.set_plan_status(car.plan.vehicle_id, PlanStatus.DONE)
        car.plan = dataclasses.replace(car.plan, status=PlanStatus.DONE, updated_at=now)
        log.info("plan_done", vehicle_id=car.plan.vehicle_id, soc_percent=_soc(car))

    def _maybe_replan(
        self,
        car: Car,
        slots: list[Slot],
        *,
        deadline: datetime,
        now: datetime,
        report: StepReport,
        outbox: _Outbox,
    ) -> None:
        assert car.reading is not None
        # An old reading says nothing about the SoC curve now (a read the vendor held back).
        fresh = car.read_at == now
        reason = decide.replan_reason(
            reading=car.reading,
            previous=car.previous,
            plan_edited=car.plan_edited,
            schedule=car.record.schedule if car.record else None,
            computed_at=car.record.computed_at if car.record else None,
            deadline=deadline,
            scheduled_deadline=car.record.deadline if car.record else None,
            prices_changed_at=self._prices_changed_at,
            expected_soc_percent=self._expected_soc(car, now=now) if fresh else None,
            soc_tolerance_percent=self._settings.soc_tolerance_percent,
            power_changed=fresh and _power_changed(car),
        )
        if reason is None or car.reading.soc_percent is None:
            return
        schedule = self._plan(car, slots, deadline=deadline, now=now, report=report)
        if schedule is None:
            return
        if reason not in decide.FRESH_START_REASONS and car.record is not None:
            hold = decide.slot_end_at(slots, now)
            schedule = decide.stabilize(schedule, car.record.schedule, now=now, hold_until=hold)
        record = ScheduleRecord(car.plan.vehicle_id, schedule, deadline, computed_at=now)
        outbox.schedules.append(record)
        car.plan_edited = False
        car.planned_power_kw = car.power_kw or self._settings.default_charge_kw
        car.record, car.anchor_soc_percent = record, car.reading.soc_percent
        report.replanned += 1
        report.reasons[reason.value] += 1
        log.info(
            "plan_replanned",
            vehicle_id=car.plan.vehicle_id,
            reason=reason.value,
            feasible=schedule.feasible,
            windows=len(schedule.windows),
            cost=round(schedule.cost, 4),
            at=now.isoformat(),
            deadline=deadline.isoformat(),
            window_list=[[w.start.isoformat(), w.end.isoformat()] for w in schedule.windows],
        )

    def _plan(
        self, car: Car, slots: list[Slot], *, deadline: datetime, now: datetime, report: StepReport
    ) -> Schedule | None:
        reading, plan, s = car.reading, car.plan, self._settings
        assert reading is not None
        assert reading.soc_percent is not None
        usable = [x for x in slots if x.end > now and x.start < deadline]
        if not usable:
            report.waiting_for_prices.append(plan.vehicle_id)
            return None
        state = VehicleState(
            battery_capacity_kwh=reading.battery_capacity_kwh or s.default_capacity_kwh,
            soc_percent=reading.soc_percent,
            max_charge_kw=car.power_kw or s.default_charge_kw,
            charge_efficiency=s.default_efficiency,
            charging_now=bool(reading.is_charging),
        )
        goal = Goal(
            target_soc_percent=plan.target_soc_percent,
            deadline=deadline,
            min_soc_percent=plan.min_soc_percent,
            start_penalty=plan.start_penalty,
            deadline_margin_s=s.deadline_margin_s,
        )
        tail = estimate_tail_price(usable)
        try:
            return self._planner(state, goal, usable, now=now, tail_price_per_kwh=tail)
        except InvalidInput as exc:
            log.warning("plan_rejected", vehicle_id=plan.vehicle_id, error=str(exc))
            return None

    def _expected_soc(self, car: Car, *, now: datetime) -> float | None:
        rec = car.record
        if rec is None:
            return None
        anchor = car.anchor_soc_percent
        if anchor is None:
            cap = (car.reading.battery_capacity_kwh if car.reading else None) or (
                self._settings.default_capacity_kwh
            )
            gain = rec.schedule.grid_energy_kwh * self._settings.default_efficiency / cap * 100
            anchor = rec.schedule.soc_at_deadline_percent - gain
            car.anchor_soc_percent = anchor
        return decide.expected_soc_at(
            rec.schedule, now, computed_at=rec.computed_at, anchor_soc_percent=anchor
        )

    def _verify(self, car: Car, *, now: datetime, report: StepReport, outbox: _Outbox) -> None:
        intent = car.intent
        if intent is None:
            return
        if intent.status is IntentStatus.PENDING:
            # Written but never sent (a crash between the two): drop it, reconcile decides afresh.
            outbox.failed[intent.key] = "abandoned_unsent"
            car.intent = None
            return
        verify_at = (intent.sent_at or now) + timedelta(seconds=self._settings.verify_delay_s)
        if car.asked_at is None or car.asked_at < verify_at or car.reading is None:
            return
        if car.reading.is_charging == (intent.action is ChargeAction.START):
            outbox.verified.append(intent.key)
            car.failed_attempts = 0
            report.verified += 1
        else:
            outbox.failed[intent.key] = "not_confirmed"
            car.failed_attempts += 1
            log.warning(
                "command_not_confirmed", vehicle_id=car.plan.vehicle_id, key=intent.key,
                charging=car.reading.is_charging, at=now.isoformat(),
            )  # fmt: skip
        car.intent = None

    async def _act(
        self,
        car: Car,
        *,
        now: datetime,
        epoch: int | None,
        report: StepReport,
        outbox: _Outbox,
        finished: bool = False,
    ) -> None:
        reading, record = car.reading, car.record
        # Past a one-off deadline the plan is done: its override ends with it.
        forced = None if finished else self._override_decides(car, now=now)
        if reading is None or (record is None and not finished and forced is None):
            return
        desired = (
            forced
            if forced is not None
            else False
            if finished or record is None
            else decide.desired_charging(
                record.schedule, reading, car.plan, now=now, deadline=record.deadline
            )
        )
        if forced is None and desired and record and not record.schedule.charging_at(now):
            self._note_extension(car, record, now=now)
        action = decide.command_needed(
            desired=desired, observed=reading.is_charging, in_flight=car.intent is not None
        )
        if action is None or epoch is None or self._smart_charging(car):
            return
        if car.failed_attempts >= self._settings.command_max_attempts:
            await self._fail_plan(car, reason=f"{action.value} not confirmed after retries")
            report.plans_failed += 1
            return
        outbox.sends.append((car, action))

    def _override_decides(self, car: Car, *, now: datetime) -> bool | None:
        """The override's wish while it lasts; an ended one is forgotten and the plan decides."""
        override = car.override
        forced = desired_charging(override, now=now, soc_percent=_soc(car))
        if override is not None and forced is None:
            # Forgotten, not deleted: a delete here could race a new override the API just wrote.
            car.override = None
            log.info(
                "override_ended", vehicle_id=override.vehicle_id, kind=override.kind.value,
                soc_percent=_soc(car), at=now.isoformat(),
            )  # fmt: skip
        return forced

    async def _send(
        self,
        sends: list[tuple[Car, ChargeAction]],
        *,
        now: datetime,
        epoch: int,
        report: StepReport,
    ) -> None:
        """Record every intent as sent (one fenced write), then post the commands concurrently."""
        wanted = [
            CommandIntent(
                key=decide.intent_key(
                    car.plan.vehicle_id, action, at=now, attempt=car.failed_attempts
                ),
                vehicle_id=car.plan.vehicle_id,
                user_id=car.plan.user_id,
                action=action,
                reason="window" if action is ChargeAction.START else "outside_window",
                epoch=epoch,
            )
            for car, action in sends
        ]
        try:
            written = await self._ports.intents.record_sends(wanted, epoch=epoch, at=now)
        except StaleEpoch as exc:
            raise LostLeadership(str(exc)) from exc
        by_key = {intent.key: intent for intent in written}
        posts = []
        for (car, action), intent in zip(sends, wanted, strict=True):
            stored = by_key.get(intent.key)
            if stored is None:
                continue  # this decision was recorded before: it is never sent twice
            car.intent = stored
            verify_at = now + timedelta(seconds=self._settings.verify_delay_s)
            if car.next_poll_at is None or car.next_poll_at > verify_at:
                car.next_poll_at = verify_at
            posts.append(self._post(car, action, stored, now=now, report=report))
        failures = [r for r in await asyncio.gather(*posts, return_exceptions=True) if r]
        if failures:
            raise failures[0]

    async def _post(
        self, car: Car, action: ChargeAction, intent: CommandIntent, *, now: datetime,
        report: StepReport,
    ) -> None:  # fmt: skip
        plan = car.plan
        try:
            async with self._command_limit:
                await self._ports.enode.set_charging(
                    plan.user_id,
                    plan.vehicle_id,
                    action,
                    vendor=car.reading.vendor if car.reading else None,
                )
        except EnodeTransportError:
            # It may have arrived: keep it in flight and let the verification read decide.
            log.warning("command_unknown_outcome", vehicle_id=plan.vehicle_id, key=intent.key)
        except EnodeError as exc:
            await self._send_failed(car, exc, now=now)
            report.send_failures += 1
            return
        finally:
            if car.intent is intent:
                # Verify from when it went out: in a long step that is well after `now`.
                car.intent = dataclasses.replace(intent, sent_at=self._clock.now())
        if action is ChargeAction.START:
            report.started += 1
        else:
            report.stopped += 1
        log.info(
            "command_sent", vehicle_id=plan.vehicle_id, action=action.value, key=intent.key,
            epoch=intent.epoch, at=now.isoformat(),
        )  # fmt: skip

    async def _send_failed(self, car: Car, exc: EnodeError, *, now: datetime) -> None:
        assert car.intent is not None
        await self._ports.intents.mark_failed(car.intent.key, error=type(exc).__name__, at=now)
        log.warning("command_failed", vehicle_id=car.plan.vehicle_id, error=type(exc).__name__)
        car.intent = None
        if not isinstance(exc, _TRANSIENT):
            car.failed_attempts += 1
        self._postpone([car], exc, now=now)

    def _note_extension(self, car: Car, record: ScheduleRecord, *, now: datetime) -> None:
        if car.extended_for == record.computed_at:
            return
        car.extended_for = record.computed_at
        log.info(
            "window_extended",
            vehicle_id=car.plan.vehicle_id,
            soc_percent=_soc(car),
            target_percent=car.plan.target_soc_percent,
            at=now.isoformat(),
        )

    def _smart_charging(self, car: Car) -> bool:
        vid = car.plan.vehicle_id
        if not (car.reading and car.reading.smart_charging_enabled):
            self._smart_charging_warned.discard(vid)
            return False
        if vid not in self._smart_charging_warned:
            self._smart_charging_warned.add(vid)
            log.warning("enode_smart_charging_enabled", vehicle_id=vid, user_id=car.plan.user_id)
        return True

    async def _fail_plan(self, car: Car, *, reason: str) -> None:
        await self._ports.plans.set_plan_status(
            car.plan.vehicle_id, PlanStatus.FAILED, reason=reason
        )
        car.plan = dataclasses.replace(car.plan, status=PlanStatus.FAILED, status_reason=reason)
        log.error("plan_failed", vehicle_id=car.plan.vehicle_id, reason=reason)


def _read_groups(cars: list[Car], vendors: set[str | None]) -> list[list[Car]]:
    """One list call for a user whose cars share one make, else one read per car.

    A vendor's 429 must not starve the user's cars of other makes, so mixed users are read car
    by car, each behind its own (user, vendor) gate.
    """
    if len(cars) == 1 or (len(vendors) == 1 and None not in vendors):
        return [cars]
    return [[c] for c in cars]


_NEVER = datetime.max.replace(tzinfo=UTC)
_REHANDLE_AFTER = timedelta(seconds=1)
_TRANSIENT = (EnodeRateLimited, EnodeGateClosed, EnodeServerError, EnodeTransportError)


def _plausible(reading: VehicleReading) -> bool:
    soc, cap, rate = reading.soc_percent, reading.battery_capacity_kwh, reading.charge_rate_kw
    return (
        (soc is None or 0.0 <= soc <= 100.0)
        and (cap is None or cap > 0)
        and (rate is None or rate >= 0)
    )


def _power_changed(car: Car) -> bool:
    """The power seen while charging is over 10 % off the power the schedule assumed."""
    seen, planned = car.power_kw, car.planned_power_kw
    return seen is not None and planned is not None and abs(seen - planned) > 0.1 * planned


def _soc(car: Car) -> float | None:
    return car.reading.soc_percent if car.reading else None
