"""Daemon-side extensions: tail estimates, margins, charge curves, repeating goals across DST."""

from __future__ import annotations

import math
from datetime import time, timedelta

import pytest

from enode_scheduler.exceptions import InvalidCase, InvalidInput
from enode_scheduler.planner import (
    CurvePoint,
    Goal,
    VehicleState,
    WindowReason,
    estimate_tail_price,
    next_deadline,
    plan,
)
from tests.unit.planner.helpers import slots_from, utc

CAR = VehicleState(
    battery_capacity_kwh=50.0, soc_percent=50.0, max_charge_kw=10.0, charge_efficiency=1.0
)


def test_missing_tail_is_refused_without_an_estimate() -> None:
    slots = slots_from("2024-03-05T18:00:00Z", [0.1, 0.2])
    goal = Goal(80.0, utc("2024-03-06T00:00:00Z"))
    with pytest.raises(InvalidCase, match="no price for 2024-03-05T20:00:00Z"):
        plan(CAR, goal, slots, now=utc("2024-03-05T18:00:00Z"))


def test_tail_estimate_fills_unknown_prices_and_marks_windows_provisional() -> None:
    slots = slots_from("2024-03-05T18:00:00Z", [0.30, 0.30])
    goal = Goal(80.0, utc("2024-03-06T00:00:00Z"))
    schedule = plan(CAR, goal, slots, now=utc("2024-03-05T18:00:00Z"), tail_price_per_kwh=0.1)
    assert schedule.feasible
    assert [(w.start, w.end, w.provisional) for w in schedule.windows] == [
        (utc("2024-03-05T20:00:00Z"), utc("2024-03-05T21:30:00Z"), True)
    ]
    assert schedule.cost == pytest.approx(1.5)
    assert any("estimates" in line for line in schedule.explanation)


def test_known_cheap_slots_beat_a_dearer_tail_estimate() -> None:
    slots = slots_from("2024-03-05T18:00:00Z", [0.05, 0.30])
    goal = Goal(80.0, utc("2024-03-06T00:00:00Z"))
    schedule = plan(CAR, goal, slots, now=utc("2024-03-05T18:00:00Z"), tail_price_per_kwh=0.1)
    assert schedule.windows[0].start == utc("2024-03-05T18:00:00Z")
    assert not schedule.windows[0].provisional


def test_estimate_tail_price_is_the_mean_of_the_last_day() -> None:
    slots = slots_from("2024-03-05T00:00:00Z", [1.0] * 24 + [0.2] * 12 + [0.4] * 12)
    assert estimate_tail_price(slots) == pytest.approx(0.3)
    assert estimate_tail_price([]) == 0.0


def test_deadline_margin_finishes_early() -> None:
    slots = slots_from("2024-03-05T18:00:00Z", [0.3, 0.3, 0.1, 0.1])
    goal = Goal(80.0, utc("2024-03-05T22:00:00Z"), deadline_margin_s=1800)
    schedule = plan(CAR, goal, slots, now=utc("2024-03-05T18:00:00Z"))
    assert schedule.windows[-1].end <= utc("2024-03-05T21:30:00Z")
    assert schedule.grid_energy_kwh == pytest.approx(15.0)


def test_charge_curve_plans_the_taper_at_lower_power() -> None:
    tapering = VehicleState(
        battery_capacity_kwh=50.0,
        soc_percent=50.0,
        max_charge_kw=10.0,
        charge_efficiency=1.0,
        charge_curve=(CurvePoint(0.0, 10.0), CurvePoint(70.0, 10.0), CurvePoint(80.0, 5.0)),
    )
    slots = slots_from("2024-03-05T18:00:00Z", [0.1] * 6)
    goal = Goal(80.0, utc("2024-03-06T00:00:00Z"))
    flat = plan(CAR, goal, slots, now=utc("2024-03-05T18:00:00Z"))
    curved = plan(tapering, goal, slots, now=utc("2024-03-05T18:00:00Z"))
    flat_s = sum((w.end - w.start).total_seconds() for w in flat.windows)
    curved_s = sum((w.end - w.start).total_seconds() for w in curved.windows)
    # 50->70 % at 10 kW (1 h), then 5 kWh at 10 -> 5 kW linear: ln(2) h instead of 0.5 h
    assert flat_s == pytest.approx(5400)
    assert curved_s == pytest.approx(3600 + 3600 * math.log(2), abs=5)
    assert curved.grid_energy_kwh == pytest.approx(15.0)


def test_below_min_soc_window_is_labelled() -> None:
    low = VehicleState(
        battery_capacity_kwh=50.0, soc_percent=10.0, max_charge_kw=10.0, charge_efficiency=1.0
    )
    slots = slots_from("2024-03-05T18:00:00Z", [0.9, 0.1, 0.1, 0.1])
    schedule = plan(
        low,
        Goal(40.0, utc("2024-03-05T22:00:00Z"), min_soc_percent=20.0),
        slots,
        now=utc("2024-03-05T18:00:00Z"),
    )
    assert schedule.windows[0].reason is WindowReason.MIN_SOC
    assert schedule.windows[0].end == utc("2024-03-05T18:30:00Z")
    assert schedule.saving == pytest.approx(schedule.baseline_cost - schedule.cost)
    assert schedule.baseline_cost > schedule.cost


@pytest.mark.parametrize(
    ("now", "weekdays", "local", "expected"),
    [
        # spring forward in Oslo: 02:30 does not exist on 31 March 2024 -> 03:30 CEST
        ("2024-03-30T22:00:00Z", {6}, time(2, 30), "2024-03-31T01:30:00Z"),
        # fall back: 02:30 happens twice on 27 October 2024 -> the first (CEST)
        ("2024-10-26T22:00:00Z", {6}, time(2, 30), "2024-10-27T00:30:00Z"),
        # weekdays only: Friday evening -> Monday 07:00 CET
        ("2024-03-08T18:00:00Z", {0, 1, 2, 3, 4}, time(7, 0), "2024-03-11T06:00:00Z"),
        # exactly at the deadline -> the next one
        ("2024-03-11T06:00:00Z", {0, 1, 2, 3, 4}, time(7, 0), "2024-03-12T06:00:00Z"),
    ],
    ids=["spring-gap", "autumn-repeat", "weekend-skipped", "strictly-after-now"],
)
def test_next_deadline(now: str, weekdays: set[int], local: time, expected: str) -> None:
    result = next_deadline(
        weekdays=frozenset(weekdays), local_time=local, tz="Europe/Oslo", now=utc(now)
    )
    assert result == utc(expected)


@pytest.mark.parametrize(
    ("now", "expected_hours"),
    [("2024-03-30T21:00:00Z", 8), ("2024-10-26T20:00:00Z", 10), ("2024-03-05T21:00:00Z", 9)],
    ids=["23-hour-night", "25-hour-night", "normal-night"],
)
def test_dst_nights_have_their_real_length(now: str, expected_hours: int) -> None:
    deadline = next_deadline(
        weekdays=frozenset(range(7)), local_time=time(7, 0), tz="Europe/Oslo", now=utc(now)
    )
    assert deadline - utc(now) == timedelta(hours=expected_hours)
    slots = slots_from(now, [0.1] * 12)
    # exactly the night's length of charging fits; one more hour does not
    fits = VehicleState(
        battery_capacity_kwh=100.0 * expected_hours,
        soc_percent=0.0,
        max_charge_kw=10.0,
        charge_efficiency=1.0,
    )
    assert plan(fits, Goal(10.0, deadline), slots, now=utc(now)).feasible
    too_much = Goal(10.0 * (expected_hours + 1) / expected_hours, deadline)
    late = plan(fits, too_much, slots, now=utc(now))
    assert not late.feasible
    assert late.windows[0].end == deadline


def test_unknown_zone_and_empty_weekdays_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone"):
        next_deadline(
            weekdays=frozenset({1}),
            local_time=time(7),
            tz="Mars/Olympus",
            now=utc("2024-03-05T18:00:00Z"),
        )
    with pytest.raises(InvalidInput, match="weekdays"):
        next_deadline(
            weekdays=frozenset(),
            local_time=time(7),
            tz="Europe/Oslo",
            now=utc("2024-03-05T18:00:00Z"),
        )
