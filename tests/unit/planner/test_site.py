"""The joint site planner against an independent exact formulation of the site-case contract.

The reference enumerates every configuration (set of cars that fits under the cap) on a grid of
stretches where the price and the cars present are constant, and solves the two-stage LP
(most energy, then least cost) in one go per stage with HiGHS, without column generation.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from datetime import UTC, datetime, timedelta

import highspy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.models import Goal, Slot, VehicleState
from enode_scheduler.planner.site import FED_KWH_EPS, plan_site
from enode_scheduler.planner.site_case import parse_site_case, site_result_to_json
from enode_scheduler.planner.site_lp import best_subset
from enode_scheduler.planner.site_models import SiteCar, SitePlan

NOW = datetime(2024, 3, 5, 16, 40, tzinfo=UTC)
HOUR0 = datetime(2024, 3, 5, 16, 0, tzinfo=UTC)


def _slots(prices: list[float], minutes: int = 60) -> list[Slot]:
    return [
        Slot(
            HOUR0 + timedelta(minutes=minutes * k),
            HOUR0 + timedelta(minutes=minutes * (k + 1)),
            price,
        )
        for k, price in enumerate(prices)
    ]


def _car(
    name: str,
    *,
    kw: float,
    soc: float,
    target: float,
    hours: float,
    now_on: bool = False,
    floor: float = 0.0,
    penalty: float = 0.0,
) -> SiteCar:
    return SiteCar(
        id=name,
        state=VehicleState(
            battery_capacity_kwh=50.0,
            soc_percent=soc,
            max_charge_kw=kw,
            charge_efficiency=0.9,
            charging_now=now_on,
        ),
        goal=Goal(
            target_soc_percent=target,
            deadline=NOW + timedelta(hours=hours),
            min_soc_percent=floor,
            start_penalty=penalty,
        ),
    )


def _reference(cars: list[SiteCar], max_kw: float, slots: list[Slot]) -> tuple[float, float]:
    """(least total shortfall kWh, least cost among those) by full enumeration."""
    start = NOW.timestamp()
    need = [
        max(0.0, c.goal.target_soc_percent - c.state.soc_percent)
        / 100
        * c.state.battery_capacity_kwh
        / c.state.charge_efficiency
        for c in cars
    ]
    power = [c.state.max_charge_kw for c in cars]
    deadline = [c.goal.deadline.timestamp() for c in cars]
    cuts = sorted(
        {start, *deadline} | {t for s in slots for t in (s.start.timestamp(), s.end.timestamp())}
    )
    cuts = [t for t in cuts if start <= t <= max(deadline)]
    columns: list[tuple[int, tuple[int, ...], float]] = []  # (stretch, cars, price)
    lengths: list[float] = []
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        lengths.append((b - a) / 3600)
        price = next(s.price_per_kwh for s in slots if s.start.timestamp() <= a < s.end.timestamp())
        present = [i for i in range(len(cars)) if deadline[i] >= b and need[i] > 0]
        for size in range(1, len(present) + 1):
            for group in itertools.combinations(present, size):
                if sum(power[i] for i in group) <= max_kw + 1e-9:
                    columns.append((k, group, price))

    def solve(objective: list[float], floor: float | None) -> float:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        rows = len(lengths) + len(cars)
        h.addRows(rows, [-inf] * rows, lengths + need, 0, [0] * rows, [], [])
        for (k, group, _price), cost in zip(columns, objective, strict=True):
            idx = [k] + [len(lengths) + i for i in group]
            val = [1.0] + [power[i] for i in group]
            h.addCol(cost, 0.0, inf, len(idx), idx, val)
        if floor is not None:
            energy = [sum(power[i] for i in group) for _k, group, _p in columns]
            h.addRow(floor, inf, len(columns), list(range(len(columns))), energy)
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.getModelStatus()
        return float(h.getInfo().objective_function_value)

    if not columns:
        return sum(need), 0.0
    delivered = -solve([-sum(power[i] for i in g) for _k, g, _p in columns], None)
    cost = solve([p * sum(power[i] for i in g) for _k, g, p in columns], delivered - 1e-6)
    return sum(need) - delivered, cost


def _check_shape(plan: SitePlan, cars: list[SiteCar], max_kw: float) -> None:
    """Windows sorted, inside [now, deadline], and the cap held at every instant."""
    events: list[tuple[float, float]] = []
    for car, part in zip(cars, plan.cars, strict=True):
        assert part.id == car.id
        previous_end = NOW
        for window in part.windows:
            assert window.start >= previous_end
            assert window.end > window.start
            assert window.end <= car.goal.deadline
            previous_end = window.end
            events.append((window.start.timestamp(), car.state.max_charge_kw))
            events.append((window.end.timestamp(), -car.state.max_charge_kw))
    level = 0.0
    for _t, change in sorted(events):
        level += change
        assert level <= max_kw + 1e-6
    assert plan.peak_kw <= max_kw + 1e-6


def test_two_cars_that_do_not_fit_together_take_turns_in_the_cheapest_hours() -> None:
    cars = [
        _car("a", kw=7.4, soc=50, target=80, hours=8),
        _car("b", kw=7.4, soc=50, target=80, hours=8),
    ]
    prices = [0.30, 0.30, 0.10, 0.10, 0.05, 0.05, 0.30, 0.30, 0.30, 0.30]
    plan = plan_site(cars, max_kw=11.0, slots=_slots(prices), now=NOW)
    _check_shape(plan, cars, 11.0)
    assert all(part.feasible for part in plan.cars)
    # 2 x 16.67 kWh at 7.4 kW = 4.5 h of charging, one car at a time: the four cheap hours
    # (18-22 UTC) and half an hour at 0.30.
    shortfall, cost = _reference(cars, 11.0, _slots(prices))
    assert shortfall == pytest.approx(0.0, abs=1e-6)
    assert plan.cost == pytest.approx(cost, rel=1e-6)
    assert plan.peak_kw == pytest.approx(7.4)


def test_a_cap_below_a_cars_power_leaves_it_uncharged_and_says_so() -> None:
    cars = [
        _car("big", kw=22.0, soc=20, target=80, hours=6),
        _car("ok", kw=3.6, soc=70, target=80, hours=6),
    ]
    plan = plan_site(cars, max_kw=11.0, slots=_slots([0.1] * 10), now=NOW)
    big, ok = plan.cars
    assert not big.feasible
    assert big.windows == ()
    assert big.grid_energy_kwh == 0.0
    assert ok.feasible


def test_min_soc_parts_charge_first_earliest_deadline_first_within_the_cap() -> None:
    cars = [
        _car("late", kw=7.4, soc=10, target=60, hours=10, floor=20),
        _car("early", kw=7.4, soc=10, target=60, hours=5, floor=20),
    ]
    prices = [0.5, 0.5, 0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]
    plan = plan_site(cars, max_kw=11.0, slots=_slots(prices), now=NOW)
    _check_shape(plan, cars, 11.0)
    late, early = plan.cars
    # 10 % of 50 kWh / 0.9 = 5.56 kWh at 7.4 kW = 45 min, "early" first from now, then "late".
    assert early.windows[0].start == NOW
    assert early.windows[0].reason.value == "min_soc_floor"
    floor_end = NOW + timedelta(seconds=5.5555556 / 7.4 * 3600)
    assert abs((late.windows[0].start - floor_end).total_seconds()) < 2
    assert late.windows[0].reason.value == "min_soc_floor"


def test_with_start_penalties_the_gap_to_the_lower_bound_is_reported() -> None:
    cars = [
        _car("a", kw=7.4, soc=30, target=80, hours=12, penalty=0.5),
        _car("b", kw=3.6, soc=30, target=80, hours=12, penalty=0.5),
    ]
    prices = [0.2, 0.1, 0.3, 0.05, 0.25, 0.04, 0.3, 0.06, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1]
    plan = plan_site(cars, max_kw=9.0, slots=_slots(prices), now=NOW)
    assert plan.lower_bound <= plan.objective
    assert plan.objective == pytest.approx(plan.cost + 0.5 * sum(c.starts for c in plan.cars))
    # the bound is the LP optimum plus one start per car: never above the true optimum
    _shortfall, cost = _reference(cars, 9.0, _slots(prices))
    assert plan.lower_bound == pytest.approx(cost + 1.0, rel=1e-6)


def test_knapsack_is_exact_on_small_sets() -> None:
    items = [(5.0, 7.4, 0), (4.0, 3.6, 1), (3.5, 3.6, 2), (6.0, 11.0, 3)]
    value, chosen = best_subset(items, 11.0)
    brute = max(
        (sum(items[i][0] for i in group), group)
        for size in range(5)
        for group in itertools.combinations(range(4), size)
        if sum(items[i][1] for i in group) <= 11.0
    )
    assert value == pytest.approx(brute[0])
    assert sorted(chosen) == sorted(brute[1])


CAR = st.builds(
    lambda kw, soc, gain, hours, on: (kw, soc, min(100.0, soc + gain), hours, on),
    st.sampled_from([2.3, 3.6, 3.7, 7.4, 11.0]),
    st.floats(0, 90),
    st.floats(0, 80),
    st.floats(1, 14),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(CAR, min_size=1, max_size=5),
    cap=st.sampled_from([3.7, 7.4, 11.0, 14.8, 22.0]),
    prices=st.lists(st.floats(-0.05, 0.6), min_size=16, max_size=16),
    quarter=st.booleans(),
)
def test_matches_the_exact_configuration_lp(
    specs: list[tuple[float, float, float, float, bool]],
    cap: float,
    prices: list[float],
    quarter: bool,
) -> None:
    cars = [
        _car(f"c{i}", kw=kw, soc=soc, target=target, hours=hours, now_on=on)
        for i, (kw, soc, target, hours, on) in enumerate(specs)
    ]
    slots = _slots(prices * 4, minutes=15) if quarter else _slots(prices)
    plan = plan_site(cars, max_kw=cap, slots=slots, now=NOW)
    _check_shape(plan, cars, cap)
    shortfall, cost = _reference(cars, cap, slots)
    assert plan.shortfall_kwh == pytest.approx(shortfall, abs=1e-4)
    assert abs(plan.cost - cost) <= max(1e-3, 1e-3 * abs(cost))
    for car, part in zip(cars, plan.cars, strict=True):
        assert part.grid_energy_kwh <= part.needed_kwh + 1e-6
        # feasible means every needed kWh up to the solver's noise, however small the need
        assert part.feasible == (part.shortfall_kwh <= max(FED_KWH_EPS, 1e-7 * part.needed_kwh))
        assert part.starts <= len(part.windows)
        if part.windows and car.state.charging_now and part.windows[0].start == NOW:
            assert part.starts == len(part.windows) - 1


def test_the_contract_example_round_trips() -> None:
    case = {
        "now": "2024-03-05T16:40:00Z",
        "site": {"max_kw": 11.0},
        "vehicles": [
            {
                "id": "a",
                "battery_capacity_kwh": 64.0,
                "soc_percent": 31.5,
                "max_charge_kw": 7.4,
                "charge_efficiency": 0.9,
                "charging_now": False,
                "goal": {
                    "target_soc_percent": 80,
                    "deadline": "2024-03-06T07:00:00Z",
                    "start_penalty": 0.0,
                },
            },
            {
                "id": "b",
                "battery_capacity_kwh": 40.0,
                "soc_percent": 20.0,
                "max_charge_kw": 3.6,
                "charge_efficiency": 0.9,
                "charging_now": True,
                "goal": {"target_soc_percent": 90, "deadline": "2024-03-06T06:00:00Z"},
            },
        ],
        "prices": [
            {
                "start": (HOUR0 + timedelta(hours=k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (HOUR0 + timedelta(hours=k + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "price_per_kwh": round(0.1 + 0.05 * math.sin(k), 4),
            }
            for k in range(16)
        ],
    }
    cars, max_kw, slots, now = parse_site_case(json.loads(json.dumps(case)))
    result = site_result_to_json(plan_site(cars, max_kw=max_kw, slots=slots, now=now))
    assert [v["id"] for v in result["vehicles"]] == ["a", "b"]
    assert set(result) == {"vehicles", "cost", "peak_kw"}
    assert set(result["vehicles"][0]) == {
        "id",
        "feasible",
        "windows",
        "grid_energy_kwh",
        "cost",
        "starts",
        "soc_at_deadline_percent",
    }
    assert all(v["feasible"] for v in result["vehicles"])
    assert result["peak_kw"] <= 11.0
    b_windows = result["vehicles"][1]["windows"]
    assert b_windows[0]["start"] < b_windows[0]["end"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["site"].update(max_kw=0), "site.max_kw must be > 0"),
        (lambda c: c.update(vehicles=[]), "vehicles must be a non-empty array"),
        (lambda c: c["vehicles"][0].update(id=""), "vehicles[0].id must be a non-empty string"),
        (lambda c: c["vehicles"][0].pop("soc_percent"), "missing field vehicles[0].soc_percent"),
        (lambda c: c["vehicles"].append(dict(c["vehicles"][0])), "appears twice"),
    ],
)
def test_bad_cases_name_the_field(mutate: object, message: str) -> None:
    case = {
        "now": "2024-03-05T16:40:00Z",
        "site": {"max_kw": 11.0},
        "vehicles": [
            {
                "id": "a",
                "battery_capacity_kwh": 64.0,
                "soc_percent": 31.5,
                "max_charge_kw": 7.4,
                "goal": {"target_soc_percent": 80, "deadline": "2024-03-05T20:00:00Z"},
            },
        ],
        "prices": [
            {"start": "2024-03-05T16:00:00Z", "end": "2024-03-05T21:00:00Z", "price_per_kwh": 0.1}
        ],
    }
    mutate(case)  # type: ignore[operator]
    with pytest.raises(InvalidCase, match=re.escape(message)):
        _plan(case)


def _plan(case: object) -> SitePlan:
    cars, max_kw, slots, now = parse_site_case(case)
    return plan_site(cars, max_kw=max_kw, slots=slots, now=now)
