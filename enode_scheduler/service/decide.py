"""The daemon's decisions as pure functions: what a car should do now, when to replan, when to poll.

Nothing here reads a clock or does I/O; `service` gathers the inputs and acts on the answers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Literal

from enode_scheduler.planner.models import Schedule, Slot, Window
from enode_scheduler.records import ChargeAction, PlanRecord, Presence, VehicleReading

UnknownLocation = Literal["skip", "act"]


class ReplanReason(StrEnum):
    NO_SCHEDULE = "no_schedule"
    PLAN_EDITED = "plan_edited"
    PLUGGED_IN = "plugged_in"
    NEW_PRICES = "new_prices"
    NEXT_DEADLINE = "next_deadline"
    SOC_OFF_CURVE = "soc_off_curve"
    POWER_CHANGED = "power_changed"


# Reasons after which the previous schedule no longer says anything useful about the current slot.
FRESH_START_REASONS = frozenset(
    {ReplanReason.NO_SCHEDULE, ReplanReason.PLAN_EDITED, ReplanReason.PLUGGED_IN}
)


def presence(reading: VehicleReading, location_id: str | None) -> Presence:
    """Where the car is, seen from a plan for `location_id`.

    Enode reports the charging location a car is at, or none. None alone does not tell "at no
    charging location" from "the vendor does not report positions", so a reported position
    decides between `away` and `location_unknown`.
    """
    if location_id is None:
        return Presence.NO_LOCATION
    if reading.charging_location_id == location_id:
        return Presence.AT_LOCATION
    if reading.charging_location_id is not None or reading.position_known:
        return Presence.AWAY
    return Presence.LOCATION_UNKNOWN


def plan_applies(where: Presence, *, unknown_location: UnknownLocation) -> bool:
    """Whether the plan may act on the car where it is (send commands, count it plugged in)."""
    return where is Presence.AT_LOCATION or (
        where is Presence.LOCATION_UNKNOWN and unknown_location == "act"
    )


def as_plan_sees_it(reading: VehicleReading, *, applies: bool) -> VehicleReading:
    """The reading the plan works with: a car plugged in where the plan does not apply counts
    as unplugged and not charging, so it is neither planned for nor polled as if at home."""
    if applies or not (reading.is_plugged_in or reading.is_charging):
        return reading
    return dataclasses.replace(reading, is_plugged_in=False, is_charging=False)


def fast_charging(reading: VehicleReading, *, max_controlled_kw: float) -> bool:
    """Charging faster than the daemon controls (a DC fast charger): never to be stopped."""
    rate = reading.charge_rate_kw
    return bool(reading.is_charging) and rate is not None and rate > max_controlled_kw


def may_send(
    action: ChargeAction, reading: VehicleReading, *, applies: bool, max_controlled_kw: float
) -> bool:
    """Whether a START/STOP may go out: only where the plan applies, and never a STOP that
    would interrupt fast charging."""
    if not applies:
        return False
    return not (
        action is ChargeAction.STOP and fast_charging(reading, max_controlled_kw=max_controlled_kw)
    )


def target_reached(reading: VehicleReading, plan: PlanRecord) -> bool:
    soc = reading.soc_percent
    if soc is None:
        return False
    limit = reading.charge_limit_percent
    return soc >= plan.target_soc_percent or (limit is not None and soc >= limit)


def desired_charging(
    schedule: Schedule,
    reading: VehicleReading,
    plan: PlanRecord,
    *,
    now: datetime,
    deadline: datetime | None = None,
) -> bool:
    """Whether the car should be charging at `now`: inside a window, plugged in, target not met.

    A car still charging when its last window ends short of the target (a late start, a lower
    efficiency than assumed) goes on until the target or the deadline: the goal is worth a few
    minutes at a dearer price, and stopping to start again would flap.
    """
    if not reading.is_plugged_in or target_reached(reading, plan):
        return False
    if schedule.charging_at(now):
        return True
    short = reading.soc_percent is not None and (
        reading.soc_percent < plan.target_soc_percent - EXTEND_SHORTFALL_PERCENT
    )
    return short and extending(schedule, reading, now=now, deadline=deadline)


# Below this shortfall the last window is not extended (rounding, not a late start).
EXTEND_SHORTFALL_PERCENT = 0.25


def extending(
    schedule: Schedule, reading: VehicleReading, *, now: datetime, deadline: datetime | None
) -> bool:
    """Whether a feasible schedule's last window is over while the car, still short, charges on."""
    if deadline is None or not schedule.feasible or not schedule.windows or not reading.is_charging:
        return False
    return max(w.end for w in schedule.windows) <= now < deadline


def command_needed(*, desired: bool, observed: bool | None, in_flight: bool) -> ChargeAction | None:
    """The command that makes observed match desired, or None (unknown state or one in flight)."""
    if in_flight or observed is None or observed == desired:
        return None
    return ChargeAction.START if desired else ChargeAction.STOP


def replan_reason(
    *,
    reading: VehicleReading,
    previous: VehicleReading | None,
    plan_edited: bool,
    schedule: Schedule | None,
    computed_at: datetime | None,
    deadline: datetime,
    scheduled_deadline: datetime | None,
    prices_changed_at: datetime | None,
    expected_soc_percent: float | None,
    soc_tolerance_percent: float,
    power_changed: bool = False,
) -> ReplanReason | None:
    """The first reason to plan this car again, or None to keep its schedule.

    `power_changed`: the charging power seen while charging differs from the one planned with
    (a car is planned at the default power until its first charging reading).
    """
    if schedule is None or computed_at is None:
        return ReplanReason.NO_SCHEDULE
    if plan_edited:
        return ReplanReason.PLAN_EDITED
    if reading.is_plugged_in and previous is not None and previous.is_plugged_in is False:
        return ReplanReason.PLUGGED_IN
    if scheduled_deadline != deadline:
        return ReplanReason.NEXT_DEADLINE
    if prices_changed_at is not None and prices_changed_at > computed_at:
        return ReplanReason.NEW_PRICES
    if power_changed:
        return ReplanReason.POWER_CHANGED
    soc = reading.soc_percent
    if (
        reading.is_plugged_in
        and soc is not None
        and expected_soc_percent is not None
        and abs(soc - expected_soc_percent) > soc_tolerance_percent
    ):
        return ReplanReason.SOC_OFF_CURVE
    return None


def window_seconds(windows: Sequence[Window], start: datetime, end: datetime) -> float:
    """Seconds of `windows` that fall inside [start, end)."""
    total = 0.0
    for w in windows:
        lo, hi = max(w.start, start), min(w.end, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def expected_soc_at(
    schedule: Schedule,
    when: datetime,
    *,
    computed_at: datetime,
    anchor_soc_percent: float,
) -> float:
    """The SoC the schedule expects at `when`, rising linearly through its windows."""
    far = max([w.end for w in schedule.windows], default=computed_at)
    total_s = window_seconds(schedule.windows, computed_at, far)
    gain = max(0.0, schedule.soc_at_deadline_percent - anchor_soc_percent)
    if total_s <= 0:
        return anchor_soc_percent
    done_s = window_seconds(schedule.windows, computed_at, when)
    return anchor_soc_percent + gain * min(1.0, done_s / total_s)


def stabilize(
    new: Schedule, old: Schedule | None, *, now: datetime, hold_until: datetime | None
) -> Schedule:
    """Keep the old schedule's decision for the rest of the current slot (no flapping in a slot).

    A replan takes effect from `hold_until` (the end of the current price slot) when it would
    otherwise flip the car between charging and not charging in the middle of the slot.
    """
    if old is None or hold_until is None or hold_until <= now:
        return new
    if old.charging_at(now) == new.charging_at(now):
        return new
    kept = [_clip(w, now, hold_until) for w in old.windows if w.end > now and w.start < hold_until]
    later = [
        _clip(w, hold_until, max(w.end, hold_until)) for w in new.windows if w.end > hold_until
    ]
    return dataclasses.replace(new, windows=_merge([*kept, *later]))


def _clip(w: Window, start: datetime, end: datetime) -> Window:
    return dataclasses.replace(w, start=max(w.start, start), end=min(w.end, end))


def _merge(windows: Sequence[Window]) -> tuple[Window, ...]:
    merged: list[Window] = []
    for w in sorted(windows, key=lambda x: x.start):
        if w.end <= w.start:
            continue
        if merged and merged[-1].end >= w.start:
            last = merged[-1]
            merged[-1] = dataclasses.replace(last, end=max(last.end, w.end))
        else:
            merged.append(w)
    return tuple(merged)


def slot_end_at(slots: Sequence[Slot], when: datetime) -> datetime | None:
    """The end of the price slot containing `when` (slots sorted by start)."""
    for s in slots:
        if s.start <= when < s.end:
            return s.end
    return None


def intent_key(vehicle_id: str, action: ChargeAction, *, at: datetime, attempt: int) -> str:
    """A unique key per (vehicle, action, decision time, attempt): never sent twice."""
    return f"{vehicle_id}:{action.value}:{at.strftime('%Y%m%dT%H%M%S')}:{attempt}"
