"""Fakes for service tests: an in-process Enode twin with battery physics, and a schedule store
wrapper that remembers every schedule. The stores themselves are `enode_scheduler.testing`'s twins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from enode_scheduler.clock import Clock
from enode_scheduler.exceptions import EnodeNotFound, EnodeRateLimited
from enode_scheduler.ports import ScheduleStore
from enode_scheduler.records import ChargeAction, ScheduleRecord, VehicleReading


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
    # Where the car is: Enode's charging location id (None: at none), and whether the vendor
    # reports a position at all.
    location_id: str | None = "home"
    reports_position: bool = True
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
        # None: the 429 says when the storm ends; a number: it says only that (like most clouds).
        self.retry_after_s: float | None = None
        self.bad_soc: set[str] = set()
        # Fields a vendor gets wrong, per vehicle (e.g. a negative charge rate).
        self.garbled: dict[str, dict[str, object]] = {}

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
            said_s = self.retry_after_s or (until - self.clock.now()).total_seconds()
            raise EnodeRateLimited("429", retry_after_s=said_s)

    def _reading(self, car: FakeCar) -> VehicleReading:
        soc = 140.0 if car.vehicle_id in self.bad_soc else car.soc_percent
        reading = VehicleReading(
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
            charging_location_id=car.location_id,
            position_known=car.reports_position,
        )
        garbled = self.garbled.get(car.vehicle_id)
        return dataclasses.replace(reading, **garbled) if garbled else reading  # type: ignore[arg-type]

    def plug(self, vehicle_id: str, *, plugged: bool) -> None:
        self._advance()
        car = self.cars[vehicle_id]
        car.plugged = plugged
        if not plugged:
            self._set(car, charging=False, now=self.clock.now())

    def move(
        self, vehicle_id: str, *, location_id: str | None, power_kw: float | None = None
    ) -> None:
        """Drive the car to another place (and its charger's power), as plugged as it was."""
        self._advance()
        car = self.cars[vehicle_id]
        car.location_id = location_id
        if power_kw is not None:
            car.power_kw = power_kw

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


class RecordingSchedules:
    """A ScheduleStore that remembers every schedule saved (to check windows afterwards)."""

    def __init__(self, inner: ScheduleStore) -> None:
        self.inner = inner
        self.history: list[ScheduleRecord] = []

    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        self.history.extend(records)
        await self.inner.save_schedules(records)

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        return await self.inner.get_schedule(vehicle_id)

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        return await self.inner.get_schedules(vehicle_ids)
