"""When to read a car next: a stable per-car phase, rarely when idle, just before a boundary."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from enode_scheduler.config import SchedulerSettings
from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import PlanRecord, VehicleReading
from enode_scheduler.service.decide import target_reached


def phase_s(vehicle_id: str, period_s: float) -> float:
    """A stable per-vehicle offset in [0, period_s) so a fleet does not poll in the same second."""
    digest = hashlib.sha256(vehicle_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * period_s


def aligned_after(now: datetime, *, period_s: float, offset_s: float) -> datetime:
    """The first instant after `now` on the grid offset_s + k * period_s (seconds since 2000)."""
    base = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    elapsed = (now - base).total_seconds() - offset_s
    k = math.floor(elapsed / period_s) + 1
    return base + timedelta(seconds=offset_s + k * period_s)


def is_idle(reading: VehicleReading | None, plan: PlanRecord | None) -> bool:
    """Nothing to plan or act on until the car changes: unplugged, asleep, full or unplanned."""
    if reading is None:
        return False
    return (
        not reading.is_plugged_in
        or reading.is_reachable is False
        or plan is None
        or (target_reached(reading, plan) and not reading.is_charging)
    )


def next_poll_at(
    *,
    vehicle_id: str,
    reading: VehicleReading | None,
    plan: PlanRecord | None,
    schedule: Schedule | None,
    now: datetime,
    settings: SchedulerSettings,
) -> datetime:
    """When to read this car next: rarely when unplugged, asleep or full, just before a boundary."""
    if reading is None:
        return now + timedelta(seconds=phase_s(vehicle_id, settings.poll_near_boundary_s))
    idle = is_idle(reading, plan)
    period_s = settings.poll_unplugged_s if idle else settings.poll_plugged_s
    # The grid spreads a fleet's polls over the period; at least half a period between two
    # polls keeps a car that just turned idle from being read again minutes later.
    earliest = now + timedelta(seconds=period_s / 2) if idle else now
    regular = aligned_after(earliest, period_s=period_s, offset_s=phase_s(vehicle_id, period_s))
    if schedule is not None and reading.is_charging and not schedule.charging_at(now):
        # Charging past its last window (or about to be stopped): watch it closely.
        return now + timedelta(seconds=settings.poll_near_boundary_s)
    boundary = schedule.next_boundary(now) if schedule is not None and not idle else None
    if boundary is None:
        return regular
    lead_s = settings.poll_near_boundary_s * (1 + phase_s(vehicle_id, 1.0))
    before = boundary - timedelta(seconds=lead_s)
    return min(regular, before) if before > now else regular
