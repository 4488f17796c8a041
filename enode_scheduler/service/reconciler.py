"""The reconcile loop's body: one step = read due cars -> plan -> persist -> act, at a given `now`.

`Reconciler` keeps a small in-memory view of the fleet (plans, latest readings, schedules, commands
in flight), rebuilt from the database by `load()`, so a step costs a handful of batched queries
however many cars there are. Only due cars are touched: a poll is due, a window boundary passed,
a command waits for verification, or prices changed. Decisions are the pure functions in `decide`;
reading is `reading.Reader`'s job and sending `sending.Sender`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.exceptions import InvalidInput, LostLeadership, StoreError
from enode_scheduler.planner.intensity import mean_intensity, with_intensity
from enode_scheduler.planner.models import Goal, Schedule, Slot, VehicleState
from enode_scheduler.planner.timeline import estimate_tail_intensity, estimate_tail_price
from enode_scheduler.records import (
    CarHealth,
    ChargeAction,
    EnergyBaseline,
    IntentStatus,
    OutcomeKind,
    PlanRecord,
    PlanStatus,
    Presence,
    ScheduleRecord,
    SiteRecord,
    VehicleReading,
)
from enode_scheduler.service import decide, outcome, site_step, sites, trouble
from enode_scheduler.service.model import (
    Car,
    Co2Objective,
    DeadlineFn,
    EpochOf,
    Outbox,
    PlanFn,
    Ports,
    StepReport,
    regular_poll_at,
    soc,
    where,
)
from enode_scheduler.service.overrides import desired_charging
from enode_scheduler.service.reading import Reader, plan_reading
from enode_scheduler.service.sending import Sender
from enode_scheduler.service.trouble import Trouble
from enode_scheduler.service.wake_queue import WakeQueue
from enode_scheduler.shards import shard_of, site_keys

log = structlog.get_logger()


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
        co2: Co2Objective | None = None,
        site_planner: site_step.SitePlanFn | None = None,
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
        self._trouble = Trouble()
        self._co2 = co2 if ports.intensity is not None else None
        self._reader = Reader(
            ports.enode, settings, clock=clock, max_concurrent=max_concurrent_reads,
            trouble=self._trouble,
        )  # fmt: skip
        self._sender = Sender(
            ports.enode, ports.intents, settings, clock=clock,
            postpone=self._reader.postpone, fault=self._reader.fault,
            max_concurrent=max_concurrent_commands,
        )  # fmt: skip
        self.cars: dict[str, Car] = {}
        self._slots: list[Slot] = []
        self._slots_loaded_at: datetime | None = None
        self._prices_changed_at: datetime | None = None
        # Until the daemon's first price fetch has finished, waiting for prices is expected.
        self._prices_fetched = False
        self._waiting_logged: set[str] = set()
        self._smart_charging_warned: set[str] = set()
        self._all_due = True
        self._wakes = WakeQueue()
        # Sites (with `ports.sites` and a site planner): see `_site_step`.
        self._site_planner = site_planner if ports.sites is not None else None
        self._sites: list[SiteRecord] = []
        self._site_keys: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._site_caps: dict[str, float] = {}
        self._site_plugged: dict[str, list[str]] = {}  # site -> cars plugged in at it
        self._held: dict[str, str] = {}  # vehicle -> site: a START waiting for room under the cap
        # Shards (see `own`): None acts on every car (one process, the tools and tests).
        self._owned: frozenset[int] | None = None
        self._epochs: dict[int, int] = {}
        # Shards whose cars are loaded with their stored state when next added (None: all).
        self._fresh: set[int] | None = None
        self._user_keys: dict[str, str] = {}  # user -> shard key, for users at sites
        self._slots_seen: tuple[object, ...] | None = None  # see `follow_stored_slots`

    # -- loading -----------------------------------------------------------------------------

    async def load(self, *, now: datetime) -> None:
        """Rebuild the in-memory view from the database (at start and on gaining shards)."""
        self.cars = {}
        self._wakes.clear()
        self._fresh = None
        await self.refresh_plans(now=now)
        self._log_loaded(now=now)

    async def own(self, epochs: Mapping[int, int], *, now: datetime) -> int:
        """Act on the cars of exactly these shards (shard -> epoch) from now on.

        Cars of shards no longer owned are dropped; cars of shards newly owned, or taken again
        with a new epoch (someone else may have acted meanwhile), are loaded from the database
        with a catch-up replan and their commands in flight. Returns how many cars changed.
        """
        fresh = {s for s, e in epochs.items() if self._epochs.get(s) != e}
        self._owned = frozenset(epochs)
        dropped = 0
        for vid in [v for v, car in self.cars.items() if car.shard in fresh]:
            self._drop(vid)  # loaded again below, with what the database knows now
            dropped += 1
        if self._fresh is not None:
            self._fresh |= fresh
        changed = await self.refresh_plans(now=now)
        self._epochs = dict(epochs)
        if fresh:
            self._log_loaded(now=now, shards=len(fresh))
        return changed + dropped

    def _log_loaded(self, *, now: datetime, shards: int | None = None) -> None:
        in_flight = sum(1 for car in self.cars.values() if car.intent is not None)
        log.info(
            "fleet_loaded", vehicles=len(self.cars), in_flight=in_flight, shards_loaded=shards,
            at=now.isoformat(),
        )  # fmt: skip

    def disown(self) -> None:
        """No shard is ours (any more): forget every car; `own` loads them again from the store."""
        for vid in list(self.cars):
            self._drop(vid)
        self._owned = frozenset()
        self._epochs = {}

    def shard_of_user(self, user_id: str) -> int:
        """The shard a user's cars belong to: by its site's key when it has a site location, so
        that every car of a site is planned by one replica (`shards.site_keys`)."""
        return shard_of(self._user_keys.get(user_id, user_id), self._settings.shards)

    def _owns(self, shard: int) -> bool:
        return self._owned is None or shard in self._owned

    def _drop(self, vehicle_id: str) -> None:
        del self.cars[vehicle_id]
        self._wakes.discard(vehicle_id)
        self._waiting_logged.discard(vehicle_id)
        self._held.pop(vehicle_id, None)

    async def _load_state(self, ids: Sequence[str], *, now: datetime) -> None:
        """The stored state of newly owned cars: readings, schedules, commands in flight."""
        readings = await self._ports.vehicles.latest_readings(ids)
        records = await self._ports.schedules.get_schedules(ids)
        in_flight = await self._ports.intents.in_flight(ids)
        overrides = await self._ports.overrides.get_overrides(ids) if self._ports.overrides else {}
        await self._load_chargers(ids)
        outcomes = await self._ports.outcomes.get_outcomes(ids) if self._ports.outcomes else {}
        for vid in ids:
            car = self.cars[vid]
            car.reading = readings.get(vid)
            if car.charger is not None and (car.reading is not None or car.plan.energy_only):
                car.reading = plan_reading(car, car.reading)
            car.record = records.get(vid)
            car.intent = in_flight.get(vid)
            car.override = overrides.get(vid)
            if vid in outcomes:
                car.outcome_for = outcomes[vid].deadline
            edited = car.plan.updated_at
            car.plan_edited = bool(car.record and edited and edited > car.record.computed_at)
            # Reconcile before anything else after a restart or a takeover: every car is due at
            # once, and replanned from what it reads now (windows may have passed unused).
            car.next_poll_at = now
            car.catch_up = True
        self._all_due = True

    async def _load_chargers(self, ids: Sequence[str]) -> None:
        """The chargers of the plans that act through one: latest readings and baselines."""
        chargers = self._ports.chargers
        cars = [self.cars[vid] for vid in ids]
        by_charger = {c.plan.charger_id: c for c in cars if c.plan.charger_id}
        if chargers is None or not by_charger:
            return
        ids = list(by_charger)
        readings = await chargers.latest_charger_readings(ids)
        baselines = await chargers.get_energy_baselines(ids)
        for charger_id, car in by_charger.items():
            car.charger = readings.get(charger_id)
            car.baseline = baselines.get(charger_id) if car.plan.energy_only else None

    async def refresh_plans(self, *, now: datetime) -> int:
        """Pick up added, edited and removed plans of the owned shards; returns how many changed."""
        every = await self._ports.plans.list_plans(enabled_only=True)
        if self._ports.sites is not None:
            listed = await self._ports.sites.list_sites()
            self._user_keys = site_keys(
                (s.name, loc.user_id) for s in listed for loc in s.locations
            )
            if self._site_planner is not None:
                self._sites = listed
        plans = {p.vehicle_id: p for p in every if self._owns(self.shard_of_user(p.user_id))}
        changed = 0
        for vid in [v for v in self.cars if v not in plans]:
            self._drop(vid)
            changed += 1
        loading: list[str] = []
        for vid, plan in plans.items():
            car = self.cars.get(vid)
            shard = self.shard_of_user(plan.user_id)
            if car is None:
                self.cars[vid] = Car(plan=plan, next_poll_at=now, shard=shard)
                if self._fresh is None or shard in self._fresh:
                    loading.append(vid)
                self._wakes.set(vid, now)
                changed += 1
                continue
            car.shard = shard  # a user added to a site moves to the site's shard
            if car.plan != plan:
                if plan.updated_at != car.plan.updated_at:
                    car.failed_attempts, car.plan_edited = 0, True
                    # An edited charger-only plan counts its energy afresh.
                    car.baseline = None
                if plan.charger_id != car.plan.charger_id:
                    car.charger = car.reading = None
                car.plan = plan
                if plan.energy_only and car.charger is not None and car.reading is not None:
                    # The reading carries the plan's location and goal (`energy.energy_reading`).
                    car.reading = plan_reading(car, None)
                car.next_poll_at = now
            else:
                continue
            self._wakes.set(vid, now)
            changed += 1
        if loading:
            await self._load_state(loading, now=now)
        self._fresh = set()
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

    def health(self) -> list[CarHealth]:
        """Every planned car's status (ok, relink_required, error, vendor_outage) and why."""
        return trouble.health(self.cars.values())

    def catch_up(self) -> None:
        """Nobody acted for a while (a failed step): replan every car from its next reading.

        Cars are read again at their next step (a gate's hold is kept), so windows missed while
        the database was down are made up before the deadline.
        """
        for car in self.cars.values():
            car.catch_up = True
            car.next_poll_at = car.poll_not_before
        self._all_due = True

    def prices_fetched(self) -> None:
        """The first price fetch finished: from now on a car without prices is worth a line."""
        self._prices_fetched = True

    def prices_changed(self, *, at: datetime) -> None:
        """New price (or carbon-intensity) slots were stored: replan every car at the next step."""
        self._prices_changed_at = at
        self._slots_loaded_at = None
        self._all_due = True

    async def follow_stored_slots(self, *, now: datetime) -> bool:
        """On a replica that does not fetch prices: a cheap look at the slots stored ahead (how
        many, until when, their sum); when another replica stored new ones, replan as it would.
        The first look only learns what is there. Returns whether they changed."""
        start, end = now, now + timedelta(days=8)
        prices = await self._ports.price_slots.get_slots(self._zone, start=start, end=end)
        seen = _fingerprint([s.price_per_kwh for s in prices], prices[-1].end if prices else None)
        if self._co2 is not None and self._ports.intensity is not None:
            known = await self._ports.intensity.get_intensity(self._co2.zone, start=start, end=end)
            seen += _fingerprint([s.g_co2_per_kwh for s in known], known[-1].end if known else None)
        changed = self._slots_seen is not None and seen != self._slots_seen
        self._slots_seen = seen
        if changed:
            self.prices_changed(at=now)
        if prices:
            self.prices_fetched()
        return changed

    # -- one step ----------------------------------------------------------------------------

    async def step(self, *, now: datetime, epochs: EpochOf | None) -> StepReport:
        """Read due cars, replan where needed, persist, and send commands (only for the cars
        whose shard has an epoch in `epochs`; None: send nothing)."""
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
            await self._step_cars(due, slots, now=now, epochs=epochs, report=report)
        except BaseException:
            # Cars taken off the queue but not handled must not be forgotten.
            self._all_due = True
            raise
        waiting = [v for v in report.waiting_for_prices if v not in self._waiting_logged]
        if waiting and self._prices_fetched:
            self._waiting_logged.update(waiting)
            # One line per car until it gets a schedule, not one per poll: the price job says
            # once a day why prices are missing (`prices_missing`).
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
        epochs: EpochOf | None,
        report: StepReport,
    ) -> None:
        to_read = [c for c in due if c.next_poll_at is None or c.next_poll_at <= now]
        reading = {id(c) for c in to_read}
        # Cars at a window boundary act on their latest reading first, so their commands do not
        # wait behind the polls of the rest of the fleet.
        at_boundary = [c for c in due if id(c) not in reading]
        await self._handle(at_boundary, slots, now=now, epochs=epochs, report=report)
        fresh = await self._reader.read(to_read, self.cars, now=now, report=report)
        if fresh.vehicles:
            await self._ports.vehicles.save_readings(fresh.vehicles)
        if fresh.chargers and self._ports.chargers is not None:
            await self._ports.chargers.save_charger_readings(fresh.chargers)
        await self._handle(to_read, slots, now=now, epochs=epochs, report=report)

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
            start, end = now - timedelta(hours=1), now + timedelta(days=8)
            raw = await self._ports.price_slots.get_slots(self._zone, start=start, end=end)
            self._slots = self._price_view(raw)
            if self._co2 is not None and self._ports.intensity is not None:
                known = await self._ports.intensity.get_intensity(
                    self._co2.zone, start=start, end=end
                )
                # time without a forecast is estimated and provisional, like unpublished prices
                self._slots = with_intensity(self._slots, known, estimate=mean_intensity(known))
            self._slots_loaded_at = now
        return self._slots

    # -- per car: plan, verify, act ----------------------------------------------------------

    async def _handle(
        self,
        cars: list[Car],
        slots: list[Slot],
        *,
        now: datetime,
        epochs: EpochOf | None,
        report: StepReport,
    ) -> None:
        """Decide for each car, then write the schedules in one go and send the commands.

        At a busy boundary hundreds of cars start at once: one write per car and commands sent
        one after another would make the last car's start wait for all the others.
        """
        outbox = Outbox()
        self._site_step(cars, slots, now=now, report=report, outbox=outbox)
        for car in cars:
            try:
                await self._decide(car, slots, now=now, epochs=epochs, report=report, outbox=outbox)
            except (StoreError, LostLeadership):
                raise  # the database or the lease: every car's problem, the daemon's to handle
            except Exception as exc:  # this car's problem only: the others' step goes on
                self._reader.fault([car], f"{type(exc).__name__}: {exc}"[:200], now=now)
                log.debug("decide_failed_traceback", vehicle_id=car.plan.vehicle_id, exc_info=exc)
            else:
                if car.read_at == now:
                    # Read and handled without a fault: whatever its trouble was, it is over.
                    self._trouble.clear(car, now=now)
        self._hold_starts(cars, outbox, now=now)
        if outbox.schedules:
            await self._ports.schedules.save_schedules(outbox.schedules)
        if outbox.presences:
            await self._ports.plans.set_presences(outbox.presences)
        if outbox.verified or outbox.failed:
            await self._ports.intents.record_outcomes(outbox.verified, outbox.failed, at=now)
        if outbox.sends and epochs is not None:
            await self._sender.send(outbox.sends, now=now, epochs=epochs, report=report)
        for car in cars:
            self._schedule_poll(car, now=now)
            # Handling a car again at the same instant changes nothing; a wish in the past (a
            # deadline gone by, a verification the gate holds back) must not spin the loop.
            self._wakes.set(car.plan.vehicle_id, max(self._wake_at(car), now + _REHANDLE_AFTER))
        if self._held:
            self._wake_held(cars, now=now)

    async def _decide(
        self,
        car: Car,
        slots: list[Slot],
        *,
        now: datetime,
        epochs: EpochOf | None,
        report: StepReport,
        outbox: Outbox,
    ) -> None:
        view = car.reading
        if car.reading is not None and car.plan.status is PlanStatus.ACTIVE:
            applies = self._locate(car, now=now, outbox=outbox)
            view = decide.as_plan_sees_it(car.reading, applies=applies)
            deadline = self._deadline(car.plan, now=now)
            if deadline is not None and car.plan.energy_only:
                await self._energy_cycle(car, deadline=deadline)
            await self._record_outcome(car, now=now)
            # A car at a site is planned with the others there, in `_site_step`.
            if deadline is not None and car.site is None:
                self._maybe_replan(
                    car, view, slots, deadline=deadline, now=now, report=report, outbox=outbox
                )
            self._verify(car, now=now, report=report, outbox=outbox, applies=applies)
            # Past a one-off deadline every window is over: a car still charging is stopped
            # once, then the finished plan leaves it alone.
            finished = deadline is None
            if applies:
                await self._act(
                    car, view, now=now, epochs=epochs, report=report, outbox=outbox,
                    finished=finished,
                )  # fmt: skip
            if finished:
                await self._finish(car, now=now)
        elif car.reading is not None:
            self._verify(car, now=now, report=report, outbox=outbox)
        # The plan's view, so coming home plugged in counts as plugging in (a replan).
        car.previous, car.handled_at = view, now

    def _locate(self, car: Car, *, now: datetime, outbox: Outbox) -> bool:
        """Note where the car is for its plan (stored when it changes, logged once per
        plug-in away); returns whether the plan applies there."""
        assert car.reading is not None
        found, applies = where(car, self._settings)
        vid = car.plan.vehicle_id
        if found is not car.plan.presence:
            outbox.presences[vid] = found
            car.plan = dataclasses.replace(car.plan, presence=found)
        plugged_elsewhere = bool(car.reading.is_plugged_in) and found is not Presence.AT_LOCATION
        if plugged_elsewhere and not car.away_logged:
            # A plugged-in car is where it is until it is unplugged: one line, not one per poll.
            log.info(
                f"vehicle_{found.value}", vehicle_id=vid, user_id=car.plan.user_id,
                charging_location_id=car.reading.charging_location_id,
                plan_location_id=car.plan.location_id, acting=applies,
                charge_rate_kw=car.reading.charge_rate_kw, at=now.isoformat(),
            )  # fmt: skip
        car.away_logged = plugged_elsewhere
        return applies

    def status_counts(self) -> dict[str, int]:
        """Planned cars per shown status (`active`, `away`, `location_unknown`, ...)."""
        counts: dict[str, int] = {}
        for car in self.cars.values():
            status = car.plan.shown_status
            counts[status] = counts.get(status, 0) + 1
        return counts

    async def _energy_cycle(self, car: Car, *, deadline: datetime) -> None:
        """A charger-only plan counts energy from the start of each cycle (each deadline)."""
        charger = car.charger
        if charger is None:
            return
        if car.baseline is not None and car.baseline.deadline == deadline:
            return
        car.baseline = EnergyBaseline(charger.charger_id, deadline, charger.energy_kwh or 0.0)
        if self._ports.chargers is not None:
            await self._ports.chargers.set_energy_baseline(car.baseline)
        car.reading = plan_reading(car, None)
        log.info(
            "energy_cycle_started", vehicle_id=car.plan.vehicle_id, deadline=deadline.isoformat(),
            meter_kwh=round(car.baseline.start_kwh, 3), goal_kwh=car.plan.energy_kwh,
        )  # fmt: skip

    def _schedule_poll(self, car: Car, *, now: datetime) -> None:
        planned = car.next_poll_at
        if planned is None or planned <= now or car.read_at == now:
            planned = regular_poll_at(car, now=now, settings=self._settings)
        car.next_poll_at = planned
        # A command sent at a boundary (without a read) is verified on time, not at the next
        # regular poll: until then the car cannot take its next command.
        intent = car.intent
        if intent is not None and intent.status is IntentStatus.SENT:
            verify_at = (intent.sent_at or now) + timedelta(seconds=self._settings.verify_delay_s)
            car.next_poll_at = min(car.next_poll_at, max(verify_at, now))
        if car.poll_not_before is not None:
            car.next_poll_at = max(car.next_poll_at, car.poll_not_before)

    def _deadline(self, plan: PlanRecord, *, now: datetime) -> datetime | None:
        if plan.deadline is not None:
            return plan.deadline if plan.deadline > now else None
        assert plan.local_time is not None
        return self._next_deadline(
            weekdays=plan.weekdays, local_time=plan.local_time, tz=plan.timezone, now=now
        )

    async def _record_outcome(self, car: Car, *, now: datetime) -> None:
        """Once per deadline, when it has passed: how the plan went (met, missed, capped,
        infeasible), stored for `plans list` and the API, and a WARNING unless met."""
        record, plan = car.record, car.plan
        deadline = record.deadline if record is not None else plan.deadline
        if deadline is None or deadline > now or car.outcome_for == deadline:
            return
        car.outcome_for = deadline
        result = outcome.plan_outcome(
            plan,
            deadline=deadline,
            reading=car.reading,
            schedule=record.schedule if record is not None else None,
            at=now,
        )
        if self._ports.outcomes is not None:
            try:
                await self._ports.outcomes.record_outcome(result)
            except StoreError as exc:  # the plan was removed meanwhile
                log.warning("outcome_not_recorded", vehicle_id=plan.vehicle_id, error=str(exc))
        emit = log.info if result.kind is OutcomeKind.MET else log.warning
        emit(
            "plan_outcome", vehicle_id=plan.vehicle_id, outcome=result.kind.value,
            detail=result.describe(), target_percent=plan.target_soc_percent,
            soc_percent=result.soc_percent, deadline=deadline.isoformat(), at=now.isoformat(),
        )  # fmt: skip

    def _warn_outlook(self, car: Car, schedule: Schedule, *, now: datetime) -> None:
        """One WARNING when a plan becomes infeasible or capped by the car's limit."""
        view = outcome.outlook(car.plan, schedule=schedule, reading=car.reading, now=now)
        warning = view.warning()
        kind = warning.split(":")[0] if warning else None
        if kind is not None and kind != car.outlook_warned:
            log.warning(
                "plan_at_risk", vehicle_id=car.plan.vehicle_id, detail=warning,
                target_percent=car.plan.target_soc_percent, at=now.isoformat(),
            )  # fmt: skip
        car.outlook_warned = kind

    async def _finish(self, car: Car, *, now: datetime) -> None:
        await self._ports.plans.set_plan_status(car.plan.vehicle_id, PlanStatus.DONE)
        car.plan = dataclasses.replace(car.plan, status=PlanStatus.DONE, updated_at=now)
        log.info("plan_done", vehicle_id=car.plan.vehicle_id, soc_percent=soc(car))

    def _maybe_replan(
        self,
        car: Car,
        view: VehicleReading,
        slots: list[Slot],
        *,
        deadline: datetime,
        now: datetime,
        report: StepReport,
        outbox: Outbox,
    ) -> None:
        reason = self._replan_reason(car, view, deadline=deadline, now=now)
        if reason is None or view.soc_percent is None:
            return
        schedule = self._plan(car, view, slots, deadline=deadline, now=now, report=report)
        if schedule is None:
            return
        if reason not in decide.FRESH_START_REASONS and car.record is not None:
            hold = decide.slot_end_at(slots, now)
            schedule = decide.stabilize(schedule, car.record.schedule, now=now, hold_until=hold)
        self._warn_outlook(car, schedule, now=now)
        self._adopt(car, view, schedule, deadline=deadline, now=now, report=report, outbox=outbox)
        report.reasons[reason.value] += 1
        self._log_replanned(car, reason.value, now=now)

    def _replan_reason(
        self, car: Car, view: VehicleReading, *, deadline: datetime, now: datetime
    ) -> decide.ReplanReason | None:
        # An old reading says nothing about the SoC curve now (a read the vendor held back).
        fresh = car.read_at == now
        return decide.replan_reason(
            reading=view,
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
            catch_up=fresh and car.catch_up,
        )

    def _adopt(
        self,
        car: Car,
        view: VehicleReading,
        schedule: Schedule,
        *,
        deadline: datetime,
        now: datetime,
        report: StepReport,
        outbox: Outbox,
    ) -> None:
        """Make `schedule` the car's current one (written with the step's batch)."""
        record = ScheduleRecord(car.plan.vehicle_id, schedule, deadline, computed_at=now)
        self._waiting_logged.discard(car.plan.vehicle_id)
        outbox.schedules.append(record)
        car.plan_edited = car.catch_up = False
        car.planned_power_kw = car.power_kw or self._assumed_kw(car)
        car.record, car.anchor_soc_percent = record, view.soc_percent
        report.replanned += 1

    def _log_replanned(self, car: Car, reason: str, *, now: datetime) -> None:
        assert car.record is not None
        schedule, deadline = car.record.schedule, car.record.deadline
        log.info(
            "plan_replanned",
            vehicle_id=car.plan.vehicle_id,
            reason=reason,
            site=car.site,
            feasible=schedule.feasible,
            windows=len(schedule.windows),
            cost=round(schedule.cost, 4),
            at=now.isoformat(),
            deadline=deadline.isoformat(),
            window_list=[[w.start.isoformat(), w.end.isoformat()] for w in schedule.windows],
        )

    def _plan(
        self,
        car: Car,
        reading: VehicleReading,
        slots: list[Slot],
        *,
        deadline: datetime,
        now: datetime,
        report: StepReport,
    ) -> Schedule | None:
        plan, s = car.plan, self._settings
        assert reading.soc_percent is not None
        usable = [x for x in slots if x.end > now and x.start < deadline]
        if not usable:
            report.waiting_for_prices.append(plan.vehicle_id)
            return None
        state = VehicleState(
            battery_capacity_kwh=reading.battery_capacity_kwh or s.default_capacity_kwh,
            soc_percent=reading.soc_percent,
            max_charge_kw=car.power_kw or self._assumed_kw(car),
            charge_efficiency=self._efficiency(car),
            charging_now=bool(reading.is_charging),
        )
        # A car's own lower charge limit stops it there: plan for what it can reach.
        target = outcome.effective_target(plan, reading)
        goal = Goal(
            target_soc_percent=target,
            deadline=deadline,
            min_soc_percent=plan.min_soc_percent,
            start_penalty=plan.start_penalty,
            deadline_margin_s=s.deadline_margin_s,
        )
        tail, tail_g = estimate_tail_price(usable), 0.0
        if self._co2 is not None:
            goal = self._co2.weigh(goal, plan.co2_price_per_kg)
            tail_g = estimate_tail_intensity(usable)
        try:
            schedule = self._planner(
                state, goal, usable, now=now, tail_price_per_kwh=tail, tail_g_co2_per_kwh=tail_g
            )
        except InvalidInput as exc:
            log.warning("plan_rejected", vehicle_id=plan.vehicle_id, error=str(exc))
            return None
        if target < plan.target_soc_percent:
            line = (
                f"target {plan.target_soc_percent:g} % capped by the car's own charge limit at "
                f"{target:g} %: raise the limit in the car's app to charge further"
            )
            schedule = dataclasses.replace(schedule, explanation=(line, *schedule.explanation))
        return schedule

    def _expected_soc(self, car: Car, *, now: datetime) -> float | None:
        rec = car.record
        if rec is None:
            return None
        anchor = car.anchor_soc_percent
        if anchor is None:
            cap = (car.reading.battery_capacity_kwh if car.reading else None) or (
                self._settings.default_capacity_kwh
            )
            gain = rec.schedule.grid_energy_kwh * self._efficiency(car) / cap * 100
            anchor = rec.schedule.soc_at_deadline_percent - gain
            car.anchor_soc_percent = anchor
        return decide.expected_soc_at(
            rec.schedule, now, computed_at=rec.computed_at, anchor_soc_percent=anchor
        )

    def _assumed_kw(self, car: Car) -> float:
        """The power planned with until one is seen while charging."""
        s = self._settings
        return s.charger_assumed_kw if car.plan.energy_only else s.default_charge_kw

    def _efficiency(self, car: Car) -> float:
        # A charger-only plan counts energy at the charger: what it delivers is the goal.
        return 1.0 if car.plan.energy_only else self._settings.default_efficiency

    def _verify(
        self,
        car: Car,
        *,
        now: datetime,
        report: StepReport,
        outbox: Outbox,
        applies: bool = True,
    ) -> None:
        intent = car.intent
        if intent is None:
            return
        if intent.status is IntentStatus.PENDING:
            # Left unsent by a version that wrote intents before sending: drop it, decide afresh.
            outbox.failed[intent.key] = "abandoned_unsent"
            car.intent = None
            return
        verify_at = (intent.sent_at or now) + timedelta(seconds=self._settings.verify_delay_s)
        if car.asked_at is None or car.asked_at < verify_at or car.reading is None:
            return
        if not applies:
            # The car left the plan's location before the command could be checked: what it
            # does now is not the command's doing, and must not count towards failing the plan.
            outbox.failed[intent.key] = "left_location"
            car.intent = None
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
        reading: VehicleReading,
        *,
        now: datetime,
        epochs: EpochOf | None,
        report: StepReport,
        outbox: Outbox,
        finished: bool = False,
    ) -> None:
        """Send what the plan (or an override) wants; only called where the plan applies."""
        record = car.record
        # Past a one-off deadline the plan is done: its override ends with it.
        forced = None if finished else self._override_decides(car, now=now)
        if record is None and not finished and forced is None:
            return
        desired = (
            forced
            if forced is not None
            else False
            if finished or record is None
            else decide.desired_charging(
                # At a site too: a car charging on past its last window (it started late, after
                # a hand-over) holds back the next car's START under the cap, never adds to it.
                record.schedule,
                reading,
                car.plan,
                now=now,
                deadline=record.deadline,
            )
        )
        if forced is None and desired and record and not record.schedule.charging_at(now):
            self._note_extension(car, record, now=now)
        action = decide.command_needed(
            desired=desired, observed=reading.is_charging, in_flight=car.intent is not None
        )
        fast = decide.fast_charging(reading, max_controlled_kw=self._settings.max_controlled_kw)
        if not fast:
            car.fast_logged = False
        may_send = epochs is not None and epochs(car.shard) is not None
        if action is None or not may_send or self._smart_charging(car):
            return
        if not decide.may_send(
            action, reading, applies=True, max_controlled_kw=self._settings.max_controlled_kw
        ):
            if not car.fast_logged:
                car.fast_logged = True
                log.info(
                    "fast_charging_left_alone", vehicle_id=car.plan.vehicle_id,
                    charge_rate_kw=reading.charge_rate_kw, at=now.isoformat(),
                )  # fmt: skip
            return
        if car.failed_attempts >= self._settings.command_max_attempts:
            await self._fail_plan(car, reason=f"{action.value} not confirmed after retries")
            report.plans_failed += 1
            return
        outbox.sends.append((car, action))

    # -- sites: several cars under one cap -----------------------------------------------------

    def _site_step(
        self, cars: list[Car], slots: list[Slot], *, now: datetime, report: StepReport,
        outbox: Outbox,
    ) -> None:  # fmt: skip
        """Group the cars plugged in at each site, and plan a group jointly (`plan_site`) when
        one of the batch's cars has a reason to be replanned or the group or its cap changed."""
        if self._site_planner is None or not self._sites:
            for car in cars:
                car.site = None
            return
        pairs = {(loc.user_id, loc.location_id) for s in self._sites for loc in s.locations}
        at_sites = {
            vid: car
            for vid, car in self.cars.items()
            if (car.plan.user_id, car.plan.location_id) in pairs or car.site is not None
        }
        deadlines: dict[str, datetime] = {}
        for vid, car in at_sites.items():
            deadline = self._deadline(car.plan, now=now)
            if car.plan.status is PlanStatus.ACTIVE and deadline is not None:
                deadlines[vid] = deadline
        views = site_step.views(at_sites, self._settings, deadlines=deadlines)
        groups = sites.site_groups(views, self._sites)
        in_group = {vid: g for g in groups for vid in g.vehicle_ids}
        for car in [*at_sites.values(), *cars]:
            group = in_group.get(car.plan.vehicle_id)
            car.site = group.site if group is not None else None
        self._site_caps = {s.name: s.max_kw for s in self._sites}
        self._site_plugged = {}
        for view in views:
            car = at_sites[view.vehicle_id]
            reading = car.reading
            if reading is None or not (reading.is_plugged_in or reading.is_charging):
                continue
            site = sites.site_at(self._sites, view.user_id, reading.charging_location_id)
            if site is not None:
                self._site_plugged.setdefault(site.name, []).append(view.vehicle_id)
        batch = {car.plan.vehicle_id for car in cars}
        for group in groups:
            if batch.intersection(group.vehicle_ids):
                self._plan_group(group, slots, deadlines, now=now, report=report, outbox=outbox)

    def _plan_group(
        self, group: sites.SiteGroup, slots: list[Slot], deadlines: dict[str, datetime], *,
        now: datetime, report: StepReport, outbox: Outbox,
    ) -> None:  # fmt: skip
        assert self._site_planner is not None
        members = [self.cars[vid] for vid in group.vehicle_ids]
        reason: str | None = None
        if self._site_keys.get(group.site) != group.key:
            reason = "site_changed"  # a car plugged in or out, or a new cap
        for car in members:
            if reason is not None:
                break
            assert car.reading is not None
            view = decide.as_plan_sees_it(car.reading, applies=True)
            found = self._replan_reason(car, view, deadline=deadlines[car.plan.vehicle_id], now=now)
            reason = found.value if found is not None else None
        if reason is None:
            return
        try:
            schedules = site_step.joint_schedules(
                group, members, slots, deadlines=deadlines, now=now, settings=self._settings,
                plan_site=self._site_planner,
            )  # fmt: skip
        except (InvalidInput, RuntimeError) as exc:
            # The solver giving up (RuntimeError) must not stop the loop: the cars keep their
            # schedules and the cap check still guards every START.
            log.warning("site_plan_rejected", site=group.site, error=str(exc))
            return
        if schedules is None:
            report.waiting_for_prices.extend(group.vehicle_ids)
            return
        self._site_keys[group.site] = group.key
        report.reasons[reason] += 1
        for car in members:
            assert car.reading is not None
            vid = car.plan.vehicle_id
            self._adopt(
                car, car.reading, schedules[vid], deadline=deadlines[vid], now=now,
                report=report, outbox=outbox,
            )  # fmt: skip
            self._log_replanned(car, reason, now=now)
        log.info(
            "site_replanned", site=group.site, max_kw=group.max_kw, reason=reason,
            vehicle_ids=list(group.vehicle_ids), at=now.isoformat(),
            cost=round(sum(s.cost for s in schedules.values()), 4),
        )  # fmt: skip

    def _hold_starts(self, cars: list[Car], outbox: Outbox, *, now: datetime) -> None:
        """STOPs go out before STARTs; a START at a site goes out only if it fits under the cap
        with every car there that draws power or may (an unconfirmed STOP counts)."""
        outbox.sends.sort(key=lambda send: send[1] is ChargeAction.START)
        was_held = {c.plan.vehicle_id for c in cars if self._held.pop(c.plan.vehicle_id, None)}
        starting: dict[str, list[Car]] = {}
        for car, action in outbox.sends:
            site = self._site_of(car)
            if action is ChargeAction.START and site is not None:
                starting.setdefault(site, []).append(car)
        if not starting:
            return
        waiting: set[str] = set()
        for site, group in starting.items():
            plugged = [self.cars[v] for v in self._site_plugged.get(site, []) if v in self.cars]
            cap = self._site_caps[site]
            _, held = sites.allowed_starts(
                [(c.plan.vehicle_id, site_step.cap_kw(c, max_kw=cap)) for c in group],
                drawing_kw=site_step.drawing_kw(plugged, max_kw=cap),
                max_kw=cap,
            )
            for vid in held:
                self._held[vid] = site
                if vid not in was_held:  # once per wait, not once per retry
                    log.info("start_waits_for_cap", vehicle_id=vid, site=site, at=now.isoformat())
            waiting.update(held)
        outbox.sends = [(c, a) for c, a in outbox.sends if c.plan.vehicle_id not in waiting]

    def _site_of(self, car: Car) -> str | None:
        """The site the car is plugged in at (planned there or not), or None."""
        if car.site is not None:
            return car.site
        vid = car.plan.vehicle_id
        return next((s for s, vids in self._site_plugged.items() if vid in vids), None)

    def _wake_held(self, cars: list[Car], *, now: datetime) -> None:
        """A START waiting for room is decided again as soon as a car of its site is read (the
        STOP it waits for may be confirmed), and at least once per verification delay while a
        STOP there is in flight."""
        batch = {car.plan.vehicle_id for car in cars}
        touched = {self._site_of(car) for car in cars if car.read_at == now}
        retry = now + timedelta(seconds=self._settings.verify_delay_s)
        # The cars told to stop are read early and often while a START waits for them: every
        # second of a hand-over is charging lost to the site.
        soon = now + timedelta(seconds=min(_HANDOVER_POLL_S, self._settings.verify_delay_s))
        handing_over: set[str] = set()
        for site in set(self._held.values()):
            for vid in self._site_plugged.get(site, []):
                car = self.cars.get(vid)
                stopping = (
                    car is not None
                    and car.intent is not None
                    and (car.intent.action is ChargeAction.STOP)
                )
                if car is None or not stopping:
                    continue
                handing_over.add(site)
                if car.next_poll_at and car.next_poll_at > soon:
                    car.next_poll_at = max(soon, car.poll_not_before or soon)
                    self._wakes.set(vid, car.next_poll_at)
        for vid, site in list(self._held.items()):
            car = self.cars.get(vid)
            if car is None:
                del self._held[vid]
            elif vid in batch and site in handing_over:
                self._wakes.set(vid, min(max(self._wake_at(car), now + _REHANDLE_AFTER), retry))
            elif site in touched:
                self._wakes.set(vid, now)

    def _override_decides(self, car: Car, *, now: datetime) -> bool | None:
        """The override's wish while it lasts; an ended one is forgotten and the plan decides."""
        override = car.override
        forced = desired_charging(override, now=now, soc_percent=soc(car))
        if override is not None and forced is None:
            # Forgotten, not deleted: a delete here could race a new override the API just wrote.
            car.override = None
            log.info(
                "override_ended", vehicle_id=override.vehicle_id, kind=override.kind.value,
                soc_percent=soc(car), at=now.isoformat(),
            )  # fmt: skip
        return forced

    def _note_extension(self, car: Car, record: ScheduleRecord, *, now: datetime) -> None:
        if car.extended_for == record.computed_at:
            return
        car.extended_for = record.computed_at
        log.info(
            "window_extended",
            vehicle_id=car.plan.vehicle_id,
            soc_percent=soc(car),
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


_NEVER = datetime.max.replace(tzinfo=UTC)
_REHANDLE_AFTER = timedelta(seconds=1)
_HANDOVER_POLL_S = 10.0


def _power_changed(car: Car) -> bool:
    """The power seen while charging is over 10 % off the power the schedule assumed."""
    seen, planned = car.power_kw, car.planned_power_kw
    return seen is not None and planned is not None and abs(seen - planned) > 0.1 * planned


def _fingerprint(values: list[float], last_end: datetime | None) -> tuple[object, ...]:
    return (len(values), last_end, round(sum(values), 9))
