"""Reading due cars from Enode, politely: batched per user where it is safe, bounded in flight,
and a car whose read failed is put off until its vendor's gate reopens (or its next slow poll)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.exceptions import (
    EnodeError,
    EnodeGateClosed,
    EnodeMalformedResponse,
    EnodeRateLimited,
    NeedsRelink,
)
from enode_scheduler.ports import EnodeApi
from enode_scheduler.records import VehicleReading
from enode_scheduler.service import polling
from enode_scheduler.service.model import (
    Car,
    StepReport,
    active_plan,
    plan_view,
    regular_poll_at,
    where,
)

log = structlog.get_logger()


class Reader:
    """Reads cars and records the readings on them; `postpone` puts off cars after a failure."""

    def __init__(
        self, enode: EnodeApi, settings: SchedulerSettings, *, clock: Clock, max_concurrent: int
    ) -> None:
        self._enode = enode
        self._settings = settings
        self._clock = clock
        self._limit = asyncio.Semaphore(max_concurrent)

    async def read(
        self, cars: list[Car], fleet: Mapping[str, Car], *, now: datetime, report: StepReport
    ) -> list[VehicleReading]:
        """Read `cars` (members of `fleet`); returns the plausible readings, already on the cars."""
        by_user: dict[str, list[Car]] = defaultdict(list)
        for car in cars:
            by_user[car.plan.user_id].append(car)
        vendors = vendors_of(fleet, [u for u, cs in by_user.items() if len(cs) > 1])
        calls = [
            self._read_user(u, group, now=now)
            for u, cs in by_user.items()
            for group in read_groups(cs, vendors.get(u, set()))
        ]
        batches = await asyncio.gather(*calls)
        fresh: list[VehicleReading] = []
        for readings, errors, asked_at in batches:
            fresh.extend(readings)
            report.poll_errors += errors
            for reading in readings:
                car = fleet[reading.vehicle_id]
                car.reading, car.read_at, car.asked_at = reading, now, asked_at
                car.poll_not_before = None
                if self._learns_power(car, reading):
                    car.power_kw = reading.charge_rate_kw
        report.polled = len(fresh)
        return fresh

    def _learns_power(self, car: Car, reading: VehicleReading) -> bool:
        """Only a charge at the plan's location, at a rate the daemon controls, says how fast
        the car charges there (a public fast charger says nothing about the home wallbox)."""
        rate = reading.charge_rate_kw
        if not (reading.is_charging and rate) or rate > self._settings.max_controlled_kw:
            return False
        return where(car, self._settings)[1]

    async def _read_user(
        self, user_id: str, cars: list[Car], *, now: datetime
    ) -> tuple[list[VehicleReading], int, datetime]:
        wanted = {c.plan.vehicle_id for c in cars}
        asked_at = now
        try:
            async with self._limit:
                asked_at = self._clock.now()
                if len(cars) > 1:
                    got = await self._enode.list_vehicles(user_id)
                else:
                    got = [await self._enode.get_vehicle(user_id, cars[0].plan.vehicle_id)]
        except EnodeError as exc:
            self.postpone(cars, exc, now=now)
            return [], 1, asked_at
        answered_at = self._clock.now()
        good: list[VehicleReading] = []
        for raw in got:
            if raw.vehicle_id not in wanted:
                continue
            r = sanitise(raw, now=answered_at)
            if plausible(r):
                good.append(r)
            else:
                log.warning("reading_rejected", vehicle_id=r.vehicle_id, soc_percent=r.soc_percent)
        return good, 0, asked_at

    def postpone(self, cars: list[Car], exc: EnodeError, *, now: datetime) -> None:
        """No request for these cars until the failure has passed (Retry-After, closed gate)."""
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
            if polling.is_idle(plan_view(car, s), active_plan(car)):
                # An unplugged or full car only needs its regular slow poll: retrying it at every
                # Retry-After would read it more often in a vendor's storm than in calm weather.
                retry_at = max(retry_at, regular_poll_at(car, now=now, settings=s))
            car.next_poll_at = car.poll_not_before = retry_at


def vendors_of(fleet: Mapping[str, Car], user_ids: list[str]) -> dict[str, set[str | None]]:
    """The makes of each user's planned cars (one pass over the fleet, only when needed)."""
    wanted = set(user_ids)
    found: dict[str, set[str | None]] = defaultdict(set)
    if wanted:
        for c in fleet.values():
            if c.plan.user_id in wanted:
                found[c.plan.user_id].add(c.reading.vendor if c.reading else None)
    return found


def read_groups(cars: list[Car], vendors: set[str | None]) -> list[list[Car]]:
    """One list call for a user whose cars share one make, else one read per car.

    A vendor's 429 must not starve the user's cars of other makes, so mixed users are read car
    by car, each behind its own (user, vendor) gate.
    """
    if len(cars) == 1 or (len(vendors) == 1 and None not in vendors):
        return [cars]
    return [[c] for c in cars]


def plausible(reading: VehicleReading) -> bool:
    """Whether the reading can be used at all (a SoC outside 0..100 makes it worthless)."""
    soc, cap = reading.soc_percent, reading.battery_capacity_kwh
    return (soc is None or 0.0 <= soc <= 100.0) and (cap is None or cap > 0)


# No car charges faster than this today (the fastest DC chargers deliver about 350 kW).
MAX_CHARGE_RATE_KW = 400.0
# Vendor clocks run a little ahead; only more than this is worth a log line.
_FUTURE_SLACK = timedelta(seconds=60)


def sanitise(reading: VehicleReading, *, now: datetime) -> VehicleReading:
    """The reading with what cannot be true made unknown or clamped, never stored as truth.

    A charge rate that is negative, not finite or above `MAX_CHARGE_RATE_KW` becomes unknown
    (None); a `last_seen` in the future becomes `now` (stored, a future time would keep every
    later reading from replacing it). One warning names what was changed.
    """
    changes: dict[str, object] = {}
    problems: dict[str, str] = {}
    rate = reading.charge_rate_kw
    if rate is not None and not (0.0 <= rate <= MAX_CHARGE_RATE_KW):
        changes["charge_rate_kw"] = None
        problems["charge_rate_kw"] = repr(rate)
    seen = reading.last_seen
    if seen is not None and seen > now:
        changes["last_seen"] = now
        if seen - now > _FUTURE_SLACK:
            problems["last_seen"] = seen.isoformat()
    if problems:
        log.warning("reading_corrected", vehicle_id=reading.vehicle_id, **problems)
    return dataclasses.replace(reading, **changes) if changes else reading  # type: ignore[arg-type]
