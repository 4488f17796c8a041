"""The daemon's pure decisions: desired state, replan triggers, flap guard, poll timing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enode_scheduler.config import SchedulerSettings
from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import ChargeAction, PlanRecord, VehicleReading
from enode_scheduler.service import decide, polling
from enode_scheduler.service.decide import ReplanReason

T0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
PLAN = PlanRecord(
    vehicle_id="v", user_id="u", target_soc_percent=80.0, deadline=T0 + timedelta(hours=8)
)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def reading(**kw: object) -> VehicleReading:
    base: dict[str, object] = {
        "vehicle_id": "v",
        "user_id": "u",
        "vendor": "TESLA",
        "last_seen": T0,
        "is_reachable": True,
        "soc_percent": 50.0,
        "is_plugged_in": True,
        "is_charging": False,
        "charge_rate_kw": 0.0,
        "battery_capacity_kwh": 60.0,
        "charge_limit_percent": 100.0,
    }
    base.update(kw)
    return VehicleReading(**base)  # type: ignore[arg-type]


def schedule(*windows: tuple[float, float], soc_end: float = 80.0) -> Schedule:
    return Schedule(
        feasible=True,
        windows=tuple(Window(h(a), h(b)) for a, b in windows),
        grid_energy_kwh=20.0,
        cost=1.0,
        starts=len(windows),
        soc_at_deadline_percent=soc_end,
    )


@pytest.mark.parametrize(
    ("kw", "when", "want"),
    [
        pytest.param({}, 2.5, True, id="inside-window"),
        pytest.param({}, 1.5, False, id="before-window"),
        pytest.param({"is_plugged_in": False}, 2.5, False, id="unplugged"),
        pytest.param({"soc_percent": 80.0}, 2.5, False, id="target-met"),
        pytest.param({"charge_limit_percent": 50.0}, 2.5, False, id="at-car-limit"),
    ],
)
def test_desired_charging(kw: dict[str, object], when: float, want: bool) -> None:
    assert decide.desired_charging(schedule((2, 4)), reading(**kw), PLAN, now=h(when)) is want


@pytest.mark.parametrize(
    ("desired", "observed", "in_flight", "want"),
    [
        (True, False, False, ChargeAction.START),
        (False, True, False, ChargeAction.STOP),
        (True, True, False, None),
        (True, False, True, None),
        (True, None, False, None),
    ],
)
def test_command_needed(
    desired: bool, observed: bool | None, in_flight: bool, want: ChargeAction | None
) -> None:
    assert decide.command_needed(desired=desired, observed=observed, in_flight=in_flight) == want


def _reason(**kw: object) -> ReplanReason | None:
    args: dict[str, object] = {
        "reading": reading(),
        "previous": reading(),
        "plan_edited": False,
        "schedule": schedule((2, 4)),
        "computed_at": T0,
        "deadline": h(8),
        "scheduled_deadline": h(8),
        "prices_changed_at": None,
        "expected_soc_percent": 50.0,
        "soc_tolerance_percent": 5.0,
    }
    args.update(kw)
    return decide.replan_reason(**args)  # type: ignore[arg-type]


def test_replan_reasons() -> None:
    assert _reason() is None
    assert _reason(schedule=None) is ReplanReason.NO_SCHEDULE
    assert _reason(plan_edited=True) is ReplanReason.PLAN_EDITED
    assert _reason(previous=reading(is_plugged_in=False)) is ReplanReason.PLUGGED_IN
    assert _reason(prices_changed_at=h(0.5)) is ReplanReason.NEW_PRICES
    assert _reason(scheduled_deadline=h(-16)) is ReplanReason.NEXT_DEADLINE
    assert _reason(expected_soc_percent=56.0) is ReplanReason.SOC_OFF_CURVE
    assert _reason(expected_soc_percent=54.0) is None


def test_expected_soc_rises_through_windows_only() -> None:
    s = schedule((2, 4), soc_end=70.0)
    assert decide.expected_soc_at(s, h(1), computed_at=T0, anchor_soc_percent=50.0) == 50.0
    assert decide.expected_soc_at(s, h(3), computed_at=T0, anchor_soc_percent=50.0) == 60.0
    assert decide.expected_soc_at(s, h(6), computed_at=T0, anchor_soc_percent=50.0) == 70.0


def test_stabilize_keeps_the_current_slot_when_a_replan_flips_it() -> None:
    old, new = schedule((2, 4)), schedule((5, 7))
    kept = decide.stabilize(new, old, now=h(2.25), hold_until=h(3))
    assert [(w.start, w.end) for w in kept.windows] == [(h(2.25), h(3)), (h(5), h(7))]
    started = decide.stabilize(old, new, now=h(2.25), hold_until=h(3))
    assert [(w.start, w.end) for w in started.windows] == [(h(3), h(4))]
    same = decide.stabilize(schedule((2, 5)), old, now=h(2.25), hold_until=h(3))
    assert same == schedule((2, 5))


def test_phases_spread_a_fleet_over_the_period() -> None:
    phases = [polling.phase_s(f"vehicle-{i}", 300.0) for i in range(1000)]
    assert all(0 <= p < 300 for p in phases)
    buckets = {int(p // 30) for p in phases}
    assert buckets == set(range(10))
    assert polling.phase_s("vehicle-1", 300.0) == polling.phase_s("vehicle-1", 300.0)


def test_polls_are_rare_when_unplugged_and_land_just_before_a_boundary() -> None:
    s = SchedulerSettings(poll_plugged_s=300, poll_unplugged_s=3600, poll_near_boundary_s=60)
    unplugged = polling.next_poll_at(
        vehicle_id="v",
        reading=reading(is_plugged_in=False),
        plan=PLAN,
        schedule=None,
        now=T0,
        settings=s,
    )
    assert timedelta(minutes=30) <= unplugged - T0 <= timedelta(hours=1, minutes=30)
    plugged = polling.next_poll_at(
        vehicle_id="v",
        reading=reading(),
        plan=PLAN,
        schedule=schedule((2, 4)),
        now=h(1.5),
        settings=s,
    )
    assert timedelta(0) < plugged - h(1.5) <= timedelta(seconds=300)
    before = polling.next_poll_at(
        vehicle_id="v",
        reading=reading(),
        plan=PLAN,
        schedule=schedule((2, 4)),
        now=h(1.97),
        settings=s,
    )
    assert h(2) - timedelta(seconds=120) <= before < h(2) - timedelta(seconds=60) or before > h(2)
    full = polling.next_poll_at(
        vehicle_id="v",
        reading=reading(soc_percent=90.0),
        plan=PLAN,
        schedule=None,
        now=T0,
        settings=s,
    )
    assert full - T0 > timedelta(seconds=300) or polling.phase_s("v", 3600) < 300


def test_intent_keys_differ_per_attempt() -> None:
    a = decide.intent_key("v", ChargeAction.START, at=T0, attempt=0)
    b = decide.intent_key("v", ChargeAction.START, at=T0, attempt=1)
    assert a != b
    assert a.startswith("v:START:")


@pytest.mark.parametrize(
    ("kw", "when", "feasible", "want"),
    [
        pytest.param({"is_charging": True, "soc_percent": 70.0}, 5, True, True, id="short"),
        pytest.param({"is_charging": False, "soc_percent": 70.0}, 5, True, False, id="stopped"),
        pytest.param({"is_charging": True, "soc_percent": 79.9}, 5, True, False, id="rounding"),
        pytest.param({"is_charging": True, "soc_percent": 70.0}, 9, True, False, id="late"),
        pytest.param({"is_charging": True, "soc_percent": 70.0}, 5, False, False, id="infeasible"),
    ],
)
def test_a_car_short_of_its_target_charges_on_past_its_last_window(
    kw: dict[str, object], when: float, feasible: bool, want: bool
) -> None:
    s = dataclasses.replace(schedule((2, 4)), feasible=feasible)
    got = decide.desired_charging(s, reading(**kw), PLAN, now=h(when), deadline=h(8))
    assert got is want


@settings(max_examples=200, deadline=None)
@given(
    vehicle=st.text(min_size=1, max_size=12),
    start_s=st.floats(min_value=0, max_value=7 * 86400),
    hours=st.integers(min_value=1, max_value=48),
)
def test_an_idle_car_is_read_at_most_once_an_hour_on_average(
    vehicle: str, start_s: float, hours: int
) -> None:
    s = SchedulerSettings(poll_plugged_s=300, poll_unplugged_s=3600, poll_near_boundary_s=60)
    now, end, reads = (
        T0 + timedelta(seconds=start_s),
        T0 + timedelta(seconds=start_s, hours=hours),
        0,
    )
    while True:
        nxt = polling.next_poll_at(
            vehicle_id=vehicle, reading=reading(is_plugged_in=False), plan=PLAN, schedule=None,
            now=now, settings=s,
        )  # fmt: skip
        # Never sooner than half a period, never later than one and a half.
        assert timedelta(minutes=30) <= nxt - now <= timedelta(minutes=90)
        if nxt >= end:
            break
        now, reads = nxt, reads + 1
    assert reads <= hours
