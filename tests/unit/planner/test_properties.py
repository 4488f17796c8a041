"""Random contract cases against an exact MILP reference (HiGHS), plus structural invariants."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enode_scheduler.planner import Goal, Slot, VehicleState, plan
from enode_scheduler.planner.lattice import LatticeProgramme
from enode_scheduler.planner.optimize import _exact_with_penalty, _objective, merge
from enode_scheduler.planner.pieces import Piece

highspy = pytest.importorskip("highspy")
from tests.unit.planner.reference import reference_objective  # noqa: E402

ORIGIN = datetime(2024, 3, 5, 16, 0, tzinfo=UTC)
PRICES = st.one_of(
    st.sampled_from([-0.2, -0.05, 0.0, 0.05, 0.1, 0.1, 0.2, 0.35]),
    st.floats(-0.3, 0.6, allow_nan=False).map(lambda p: round(p, 4)),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[VehicleState, Goal, list[Slot], datetime]:
    lengths = draw(st.lists(st.sampled_from([15, 60]), min_size=1, max_size=14))
    slots, moment = [], ORIGIN
    for minutes in lengths:
        slots.append(Slot(moment, moment + timedelta(minutes=minutes), draw(PRICES)))
        moment += timedelta(minutes=minutes)
    now = ORIGIN + timedelta(seconds=draw(st.integers(0, lengths[0] * 60 - 1)))
    deadline = moment - timedelta(seconds=draw(st.integers(0, lengths[-1] * 60 - 1)))
    if deadline <= now:
        deadline = moment
    state = VehicleState(
        battery_capacity_kwh=draw(st.sampled_from([10.0, 40.0, 64.0, 100.0])),
        soc_percent=draw(st.floats(0, 100)),
        max_charge_kw=draw(st.sampled_from([2.3, 3.7, 7.4, 11.0, 22.0])),
        charge_efficiency=draw(st.sampled_from([0.8, 0.9, 1.0])),
        charging_now=draw(st.booleans()),
    )
    goal = Goal(
        target_soc_percent=draw(st.floats(0, 100)),
        deadline=deadline,
        min_soc_percent=draw(st.sampled_from([0.0, 0.0, 20.0, 50.0])),
        start_penalty=draw(st.sampled_from([0.0, 0.0, 0.02, 0.1, 0.5, 2.0])),
    )
    return state, goal, slots, now


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_plan_is_optimal_and_well_formed(
    case: tuple[VehicleState, Goal, list[Slot], datetime],
) -> None:
    state, goal, slots, now = case
    schedule = plan(state, goal, slots, now=now)
    windows = schedule.windows
    assert all(w.start < w.end for w in windows)
    assert all(a.end <= b.start for a, b in itertools.pairwise(windows))
    assert all(now <= w.start and w.end <= goal.deadline for w in windows)
    need = max(0.0, goal.target_soc_percent - state.soc_percent) / 100
    need_kwh = need * state.battery_capacity_kwh / state.charge_efficiency
    charged_h = sum((w.end - w.start).total_seconds() for w in windows) / 3600
    if not schedule.feasible:
        assert charged_h == pytest.approx((goal.deadline - now).total_seconds() / 3600)
        assert schedule.soc_at_deadline_percent < goal.target_soc_percent
        return
    assert charged_h * state.max_charge_kw == pytest.approx(need_kwh, abs=1e-6)
    assert schedule.grid_energy_kwh == pytest.approx(need_kwh, abs=1e-6)
    mine = schedule.cost + goal.start_penalty * schedule.starts
    best = reference_objective(state, goal, slots, now)
    tolerance = max(1e-3, 1e-3 * abs(best))
    assert best - tolerance <= mine <= best + tolerance


@st.composite
def piece_sets(draw: st.DrawFn) -> tuple[list[Piece], float, float, bool]:
    count = draw(st.integers(3, 16))
    pieces, start = [], 0
    for index in range(count):
        length = draw(st.sampled_from([900, 3600])) * 10**6
        if index in (0, count - 1):
            length = draw(st.integers(1, length))
        pieces.append(Piece(start, start + length, draw(PRICES)))
        start += length
    need = draw(st.floats(0.01, 0.99)) * start
    penalty = draw(st.sampled_from([1e6, 1e7, 1e8, 1e9]))
    return pieces, need, penalty, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(piece_sets())
def test_lattice_and_dictionary_programmes_agree(
    case: tuple[list[Piece], float, float, bool],
) -> None:
    pieces, need, penalty, free = case
    lattice = merge(LatticeProgramme(pieces, need, penalty, free).solve())
    general = merge(_exact_with_penalty(pieces, need, penalty, free))
    assert sum(e - s for s, e in lattice) == pytest.approx(need, abs=1.0)
    assert _objective(pieces, lattice, penalty, free) == pytest.approx(
        _objective(pieces, general, penalty, free), rel=1e-9, abs=1.0
    )
