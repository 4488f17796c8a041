"""CO2-aware planning: the blended objective against the HiGHS reference, CO2 first, plan-case."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.planner import Goal, Slot, VehicleState, estimate_tail_intensity, plan
from enode_scheduler.planner.objective import co2_first_weight
from tests.unit.planner.helpers import case_json, slots_from, utc

highspy = pytest.importorskip("highspy")
from tests.unit.planner.reference import reference_objective  # noqa: E402

ORIGIN = datetime(2024, 3, 5, 16, 0, tzinfo=UTC)
PRICES = st.one_of(
    st.sampled_from([-0.2, 0.0, 0.05, 0.1, 0.1, 0.2, 0.35]),
    st.floats(-0.3, 0.6, allow_nan=False).map(lambda p: round(p, 4)),
)
GRAMS = st.one_of(
    st.none(),
    st.sampled_from([0.0, 20.0, 150.0, 150.0, 300.0, 600.0]),
    st.floats(0, 800, allow_nan=False).map(lambda g: round(g, 2)),
)
COARSE_GRAMS = st.none() | st.integers(0, 80).map(lambda g: 10.0 * g)
Case = tuple[VehicleState, Goal, list[Slot], datetime]


@st.composite
def cases(
    draw: st.DrawFn, *, penalties: list[float], grams: st.SearchStrategy[float | None] = GRAMS
) -> Case:
    lengths = draw(st.lists(st.sampled_from([15, 30, 60]), min_size=1, max_size=12))
    slots, moment = [], ORIGIN
    for minutes in lengths:
        end = moment + timedelta(minutes=minutes)
        slots.append(Slot(moment, end, draw(PRICES), g_co2_per_kwh=draw(grams)))
        moment = end
    now = ORIGIN + timedelta(seconds=draw(st.integers(0, lengths[0] * 60 - 1)))
    deadline = moment - timedelta(seconds=draw(st.integers(0, lengths[-1] * 60 - 1)))
    if deadline <= now:
        deadline = moment
    state = VehicleState(
        battery_capacity_kwh=draw(st.sampled_from([10.0, 40.0, 64.0])),
        soc_percent=draw(st.floats(0, 100)),
        max_charge_kw=draw(st.sampled_from([3.7, 7.4, 11.0])),
        charge_efficiency=draw(st.sampled_from([0.9, 1.0])),
        charging_now=draw(st.booleans()),
    )
    goal = Goal(
        target_soc_percent=draw(st.floats(0, 100)),
        deadline=deadline,
        min_soc_percent=draw(st.sampled_from([0.0, 0.0, 30.0])),
        start_penalty=draw(st.sampled_from(penalties)),
        co2_price_per_kg=draw(st.sampled_from([0.0, 0.05, 0.2, 1.0, 5.0])),
    )
    return state, goal, slots, now


def _grams(slot: Slot) -> float:
    return slot.g_co2_per_kwh or 0.0


def _within(mine: float, best: float) -> None:
    tolerance = max(1e-3, 1e-3 * abs(best))
    assert best - tolerance <= mine <= best + tolerance


def _recount(schedule_windows: Any, slots: list[Slot], power_kw: float) -> tuple[float, float]:
    """Energy cost and kg CO2 of windows, counted slot by slot (independent of the planner)."""
    cost = grams = 0.0
    for window in schedule_windows:
        for slot in slots:
            low, high = max(window.start, slot.start), min(window.end, slot.end)
            if high > low:
                kwh = (high - low).total_seconds() / 3600 * power_kw
                cost += kwh * slot.price_per_kwh
                grams += kwh * _grams(slot)
    return cost, grams / 1000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(penalties=[0.0, 0.0, 0.05, 0.5, 2.0]))
def test_blend_is_the_exact_optimum_and_reports_money_and_co2_apart(case: Case) -> None:
    state, goal, slots, now = case
    schedule = plan(state, goal, slots, now=now)
    cost, kg = _recount(schedule.windows, slots, state.max_charge_kw)
    assert schedule.cost == pytest.approx(cost, abs=1e-6)
    assert schedule.co2_kg == pytest.approx(kg, abs=1e-6)
    if not schedule.feasible:
        return
    per_g = goal.co2_price_per_kg / 1000
    mine = schedule.cost + goal.co2_price_per_kg * schedule.co2_kg
    mine += goal.start_penalty * schedule.starts
    best = reference_objective(
        state, goal, slots, now, price_of=lambda s: s.price_per_kwh + per_g * _grams(s)
    )
    _within(mine, best)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(penalties=[0.0], grams=COARSE_GRAMS))
def test_co2_first_is_the_lexicographic_optimum(case: Case) -> None:
    state, goal, slots, now = case
    goal = replace(goal, minimise_co2=True, co2_price_per_kg=0.0)
    schedule = plan(state, goal, slots, now=now)
    if not schedule.feasible:
        return
    least = reference_objective(state, goal, slots, now, price_of=lambda s: _grams(s) / 1000)
    _within(schedule.co2_kg, least)
    # among the plans with the least CO2, the cheapest one
    # HiGHS needs some slack on the cap (its feasibility tolerance); with intensities 10 g apart,
    # 1 mg lets the reference move at most 0.1 Wh to a dirtier slot, far below the tolerance
    least_g = least * 1000
    cheapest = reference_objective(
        state, goal, slots, now, cap=(_grams, least_g + 1e-3 + 1e-6 * least_g)
    )
    _within(schedule.cost, cheapest)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(penalties=[0.05, 0.5, 2.0]))
def test_co2_first_with_a_penalty_is_exact_for_its_weighted_objective(case: Case) -> None:
    state, goal, slots, now = case
    goal = replace(goal, minimise_co2=True, co2_price_per_kg=0.0)
    schedule = plan(state, goal, slots, now=now)
    if not schedule.feasible:
        return
    inside = [s for s in slots if s.end > now and s.start < goal.deadline]
    weight = co2_first_weight([_grams(s) for s in inside], [s.price_per_kwh for s in inside])
    mine = weight * schedule.co2_kg * 1000 + schedule.cost + goal.start_penalty * schedule.starts
    best = reference_objective(
        state, goal, slots, now, price_of=lambda s: weight * _grams(s) + s.price_per_kwh
    )
    _within(mine, best)


# -- hand cases: 50 kWh, 10 kW, efficiency 1, 50 -> 80 % (15 kWh, 1.5 h) ----------------------

STATE = VehicleState(50.0, 50.0, 10.0, charge_efficiency=1.0)
NOW, DEADLINE = utc("2024-03-05T18:00:00Z"), utc("2024-03-05T22:00:00Z")
# cheap and dirty first, dear and clean later
PRICES_4, GRAMS_4 = [0.10, 0.12, 0.30, 0.31], [500.0, 450.0, 50.0, 40.0]


def _slots() -> list[Slot]:
    plain = slots_from("2024-03-05T18:00:00Z", PRICES_4)
    return [replace(s, g_co2_per_kwh=g) for s, g in zip(plain, GRAMS_4, strict=True)]


def _hours(schedule: Any) -> list[tuple[str, str]]:
    return [(w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) for w in schedule.windows]


def test_price_only_ignores_co2_but_reports_it() -> None:
    schedule = plan(STATE, Goal(80, DEADLINE), _slots(), now=NOW)
    assert _hours(schedule) == [("18:00", "19:30")]
    assert schedule.cost == pytest.approx(10 * 0.10 + 5 * 0.12)
    assert schedule.co2_kg == pytest.approx((10 * 500 + 5 * 450) / 1000)
    assert schedule.baseline_co2_kg == pytest.approx(schedule.co2_kg)
    assert any("kg CO2" in line for line in schedule.explanation)


def test_co2_first_takes_the_clean_hours_and_keeps_cost_as_money() -> None:
    schedule = plan(STATE, Goal(80, DEADLINE, minimise_co2=True), _slots(), now=NOW)
    assert _hours(schedule) == [("20:30", "22:00")]
    assert schedule.co2_kg == pytest.approx((5 * 50 + 10 * 40) / 1000)
    assert schedule.cost == pytest.approx(5 * 0.30 + 10 * 0.31)
    assert schedule.co2_saving_kg == pytest.approx(7.25 - 0.65)
    assert "least CO2 first" in schedule.explanation[0]


def test_blend_switches_at_the_price_of_co2() -> None:
    # 450 g -> 50 g saves 0.4 kg per kWh for 0.18 more: worth it above 0.45 per kg
    cheap = plan(STATE, Goal(80, DEADLINE, co2_price_per_kg=0.4), _slots(), now=NOW)
    clean = plan(STATE, Goal(80, DEADLINE, co2_price_per_kg=0.5), _slots(), now=NOW)
    assert _hours(cheap) == [("18:00", "19:30")]
    # effective 0.325 and 0.33 per kWh: the cleaner hour whole, the partial leans against it
    assert _hours(clean) == [("20:00", "21:30")]
    assert "price plus 0.5 per kg CO2" in clean.explanation[0]
    assert clean.cost > cheap.cost
    assert clean.co2_kg < cheap.co2_kg


def test_missing_intensity_in_the_tail_is_estimated_and_provisional() -> None:
    known = _slots()[:2]
    tail = estimate_tail_intensity(known)
    assert tail == pytest.approx(475.0)
    schedule = plan(
        STATE,
        Goal(80, DEADLINE, minimise_co2=True),
        known,
        now=NOW,
        tail_price_per_kwh=0.2,
        tail_g_co2_per_kwh=100.0,
    )
    assert _hours(schedule) == [("20:00", "21:30")]
    assert all(w.provisional for w in schedule.windows)
    assert schedule.co2_kg == pytest.approx(15 * 100 / 1000)


def test_estimate_tail_intensity_without_any_is_zero() -> None:
    assert estimate_tail_intensity(slots_from("2024-03-05T18:00:00Z", [0.1])) == 0.0


def _run(tmp_path: Path, case: object) -> Any:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    result = CliRunner().invoke(app, ["plan-case", str(path)])
    return result


def _co2_case(**goal: object) -> dict[str, Any]:
    case = case_json(now="2024-03-05T18:00:00Z", deadline="2024-03-05T22:00:00Z", prices=PRICES_4)
    for slot, grams in zip(case["prices"], GRAMS_4, strict=True):  # type: ignore[call-overload]
        slot["g_co2_per_kwh"] = grams
    case["goal"].update(goal)  # type: ignore[attr-defined]
    return case


def test_plan_case_reports_co2_kg_only_when_asked(tmp_path: Path) -> None:
    plain_case = case_json(
        now="2024-03-05T18:00:00Z", deadline="2024-03-05T22:00:00Z", prices=PRICES_4
    )
    plain = _run(tmp_path, plain_case)
    assert plain.exit_code == 0
    assert "co2_kg" not in json.loads(plain.stdout)
    priced = json.loads(_run(tmp_path, _co2_case(co2_price_per_kg=0.5)).stdout)
    assert priced["co2_kg"] == pytest.approx(0.7)
    assert priced["cost"] == pytest.approx(4.55)
    assert priced["windows"] == [{"start": "2024-03-05T20:00:00Z", "end": "2024-03-05T21:30:00Z"}]
    unpriced = json.loads(_run(tmp_path, _co2_case()).stdout)
    assert unpriced["co2_kg"] == pytest.approx(7.25)
    assert unpriced["cost"] == pytest.approx(1.6)


def test_plan_case_slot_without_intensity_counts_zero(tmp_path: Path) -> None:
    case = _co2_case(co2_price_per_kg=0.5)
    del case["prices"][0]["g_co2_per_kwh"]
    result = json.loads(_run(tmp_path, case).stdout)
    assert result["windows"][0]["start"] == "2024-03-05T18:00:00Z"
    # the free hour, then half of the 50 g hour
    assert result["co2_kg"] == pytest.approx(5 * 50 / 1000)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("prices", -1.0), "prices[0].g_co2_per_kwh must be >= 0"),
        (("prices", "x"), "prices[0].g_co2_per_kwh must be a finite number"),
        (("goal", -0.1), "goal.co2_price_per_kg must be >= 0"),
    ],
)
def test_plan_case_refuses_bad_co2_fields(
    tmp_path: Path, edit: tuple[str, object], message: str
) -> None:
    case = _co2_case()
    where, value = edit
    if where == "prices":
        case["prices"][0]["g_co2_per_kwh"] = value
    else:
        case["goal"]["co2_price_per_kg"] = value
    result = _run(tmp_path, case)
    assert result.exit_code == 2
    assert message in result.stderr
