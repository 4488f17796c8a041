"""Fakes for service tests: a fake Enode with battery physics, in-memory stores, a simple planner.

The stores are stand-ins until the foundation's twins in `enode_scheduler.testing` are merged;
they follow the port contracts closely enough for the reconciler (unique intent keys, epochs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from enode_scheduler.clock import Clock
from enode_scheduler.exceptions import EnodeNotFound, EnodeRateLimited, StaleEpoch
from enode_scheduler.planner.models import Slot
from enode_scheduler.ports import (
    ChargeAction,
    CommandIntent,
    IntentStatus,
    Lease,
    PlanRecord,
    PlanStatus,
    ScheduleRecord,
    VehicleReading,
)


@dataclass
class FakeCar:
    vehicle_id: str
    user_id: str
    vendor: str = "TESLA"
    capacity_kwh: float = 60.0
    power_kw: float = 7.4
    efficiency: float = 0.9
    soc_percent: float = 40.0
    plugged: bool = True
    charging: bool = False
    limit_percent: float = 100.0
    smart_charging: bool = False
    ignores_commands: bool = False
    charged_intervals: list[tuple[datetime, datetime]] = field(default_factory=list)
    charging_since: datetime | None = None
    energy_kwh: float = 0.0


class FakeEnode:
    """An in-process EnodeApi twin: cars charge at constant power while plugged in and started."""

    def __init__(self, clock: Clock, cars: Sequence[FakeCar]) -> None:
        self.clock = clock
        self.cars = {c.vehicle_id: c for c in cars}
        self._at = clock.now()
        self.commands: list[tuple[datetime, str, ChargeAction]] = []
        self.reads = 0
        self.rate_limited_until: dict[str, datetime] = {}
        self.rate_limited = 0
        self.bad_soc: set[str] = set()

    def _advance(self) -> None:
        now = self.clock.now()
        dt_h = (now - self._at).total_seconds() / 3600
        self._at = now
        for car in self.cars.values():
            if not (car.charging and car.plugged) or dt_h <= 0:
                continue
            room_kwh = (car.limit_percent - car.soc_percent) / 100 * car.capacity_kwh
            gain_kwh = min(room_kwh, car.power_kw * car.efficiency * dt_h)
            car.soc_percent += gain_kwh / car.capacity_kwh * 100
            car.energy_kwh += gain_kwh / car.efficiency
            if car.soc_percent >= car.limit_percent - 1e-9:
                self._set(car, charging=False, now=now)

    def _set(self, car: FakeCar, *, charging: bool, now: datetime) -> None:
        if charging and not car.charging:
            car.charging_since = now
        if not charging and car.charging and car.charging_since is not None:
            car.charged_intervals.append((car.charging_since, now))
            car.charging_since = None
        car.charging = charging

    def _gate(self, car: FakeCar) -> None:
        until = self.rate_limited_until.get(car.vendor)
        if until is not None and self.clock.now() < until:
            self.rate_limited += 1
            raise EnodeRateLimited("429", retry_after_s=(until - self.clock.now()).total_seconds())

    def _reading(self, car: FakeCar) -> VehicleReading:
        soc = 140.0 if car.vehicle_id in self.bad_soc else car.soc_percent
        return VehicleReading(
            vehicle_id=car.vehicle_id,
            user_id=car.user_id,
            vendor=car.vendor,
            last_seen=self.clock.now(),
            is_reachable=True,
            soc_percent=soc,
            is_plugged_in=car.plugged,
            is_charging=car.charging,
            charge_rate_kw=car.power_kw if car.charging else 0.0,
            battery_capacity_kwh=car.capacity_kwh,
            charge_limit_percent=car.limit_percent,
            smart_charging_enabled=car.smart_charging,
        )

    def plug(self, vehicle_id: str, *, plugged: bool) -> None:
        self._advance()
        car = self.cars[vehicle_id]
        car.plugged = plugged
        if not plugged:
            self._set(car, charging=False, now=self.clock.now())

    def finish(self) -> None:
        """Close open charging intervals at the current time (for assertions)."""
        self._advance()
        for car in self.cars.values():
            if car.charging and car.charging_since is not None:
                car.charged_intervals.append((car.charging_since, self.clock.now()))
                car.charging_since = self.clock.now()

    async def list_vehicles(self, user_id: str) -> list[VehicleReading]:
        self._advance()
        mine = [c for c in self.cars.values() if c.user_id == user_id]
        for car in mine:
            self._gate(car)
        self.reads += 1
        return [self._reading(c) for c in mine]

    async def get_vehicle(self, user_id: str, vehicle_id: str) -> VehicleReading:
        self._advance()
        car = self.cars.get(vehicle_id)
        if car is None or car.user_id != user_id:
            raise EnodeNotFound("no such vehicle", status=404)
        self._gate(car)
        self.reads += 1
        return self._reading(car)

    async def set_charging(
        self, user_id: str, vehicle_id: str, action: ChargeAction, *, vendor: str | None = None
    ) -> None:
        self._advance()
        car = self.cars[vehicle_id]
        self._gate(car)
        self.commands.append((self.clock.now(), vehicle_id, action))
        if car.ignores_commands:
            return
        want = action is ChargeAction.START and car.plugged and car.soc_percent < car.limit_percent
        self._set(car, charging=want, now=self.clock.now())


class MemoryStores:
    """Plans, schedules, readings, intents, price slots and leases held in dicts."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.plans: dict[str, PlanRecord] = {}
        self.schedules: dict[str, ScheduleRecord] = {}
        self.schedule_history: list[ScheduleRecord] = []
        self.readings: dict[str, VehicleReading] = {}
        self.intents: dict[str, CommandIntent] = {}
        self.slots: dict[str, dict[datetime, Slot]] = {}
        self.leases: dict[str, Lease] = {}
        self._next_id = 1

    # PlanStore
    async def put_plan(self, plan: PlanRecord) -> PlanRecord:
        now = self.clock.now()
        old = self.plans.get(plan.vehicle_id)
        stored = dataclasses.replace(
            plan,
            plan_id=old.plan_id if old else self._bump(),
            created_at=old.created_at if old else now,
            updated_at=now,
            status=PlanStatus.ACTIVE,
        )
        self.plans[plan.vehicle_id] = stored
        return stored

    def _bump(self) -> int:
        self._next_id += 1
        return self._next_id

    async def get_plan(self, vehicle_id: str) -> PlanRecord | None:
        return self.plans.get(vehicle_id)

    async def list_plans(self, *, enabled_only: bool = False) -> list[PlanRecord]:
        return [p for p in self.plans.values() if p.enabled or not enabled_only]

    async def delete_plan(self, vehicle_id: str) -> bool:
        return self.plans.pop(vehicle_id, None) is not None

    async def set_plan_status(
        self, vehicle_id: str, status: PlanStatus, *, reason: str | None = None
    ) -> None:
        plan = self.plans[vehicle_id]
        self.plans[vehicle_id] = dataclasses.replace(plan, status=status, status_reason=reason)

    async def plans_changed_since(self, since: datetime) -> list[PlanRecord]:
        return [p for p in self.plans.values() if p.updated_at and p.updated_at > since]

    # ScheduleStore
    async def save_schedule(self, record: ScheduleRecord) -> None:
        self.schedules[record.vehicle_id] = record
        self.schedule_history.append(record)

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        return self.schedules.get(vehicle_id)

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        return {v: self.schedules[v] for v in vehicle_ids if v in self.schedules}

    # VehicleStore
    async def save_readings(self, readings: Sequence[VehicleReading]) -> None:
        for r in readings:
            self.readings[r.vehicle_id] = r

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        ids = self.readings if vehicle_ids is None else vehicle_ids
        return {v: self.readings[v] for v in ids if v in self.readings}

    async def list_vehicle_ids(self, user_id: str | None = None) -> list[str]:
        return [v for v, r in self.readings.items() if user_id in (None, r.user_id)]

    # CommandIntentStore
    async def create_intent(self, intent: CommandIntent) -> CommandIntent | None:
        if intent.key in self.intents:
            return None
        stored = dataclasses.replace(intent, created_at=self.clock.now(), intent_id=self._bump())
        self.intents[intent.key] = stored
        return stored

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        wanted = set(vehicle_ids)
        live = (IntentStatus.PENDING, IntentStatus.SENT)
        return {
            i.vehicle_id: i
            for i in self.intents.values()
            if i.vehicle_id in wanted and i.status in live
        }

    async def mark_sent(self, key: str, *, epoch: int, at: datetime) -> None:
        current = max((lease.epoch for lease in self.leases.values()), default=epoch)
        if epoch < current:
            raise StaleEpoch(f"epoch {epoch} < {current}")
        i = self.intents[key]
        self.intents[key] = dataclasses.replace(
            i, status=IntentStatus.SENT, sent_at=at, attempts=i.attempts + 1
        )

    async def mark_verified(self, key: str, *, at: datetime) -> None:
        i = self.intents[key]
        self.intents[key] = dataclasses.replace(i, status=IntentStatus.VERIFIED, verified_at=at)

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None:
        i = self.intents[key]
        self.intents[key] = dataclasses.replace(i, status=IntentStatus.FAILED, error=error)

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]:
        return [
            i
            for i in self.intents.values()
            if i.vehicle_id == vehicle_id and i.created_at and i.created_at >= since
        ]

    # PriceSlotStore
    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        table = self.slots.setdefault(zone, {})
        changed = sum(1 for s in slots if table.get(s.start) != s)
        table.update({s.start: s for s in slots})
        return changed

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        table = self.slots.get(zone, {})
        return sorted(
            (s for s in table.values() if s.end > start and s.start < end), key=lambda s: s.start
        )

    # LeaseStore
    async def acquire(self, name: str, *, holder: str, ttl_s: float) -> Lease | None:
        now = self.clock.now()
        lease = self.leases.get(name)
        if lease is not None and lease.holder != holder and lease.expires_at > now:
            return None
        epoch = (
            lease.epoch
            if lease is not None and lease.holder == holder
            else ((lease.epoch if lease else 0) + 1)
        )
        new = Lease(name, holder, epoch, now + timedelta(seconds=ttl_s))
        self.leases[name] = new
        return new

    async def release(self, lease: Lease) -> None:
        current = self.leases.get(lease.name)
        if current is not None and current.holder == lease.holder:
            self.leases[lease.name] = dataclasses.replace(current, expires_at=self.clock.now())

    async def current(self, name: str) -> Lease | None:
        return self.leases.get(name)
