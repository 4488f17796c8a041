"""`plan()`: the one entry point of the planner, shared by the daemon, plan-case and backtest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.curve import charge_time_s, soc_after_s
from enode_scheduler.planner.explain import explain
from enode_scheduler.planner.models import Goal, Schedule, Slot, VehicleState, Window, WindowReason
from enode_scheduler.planner.objective import objective_timeline
from enode_scheduler.planner.optimize import merge, place, place_cheapest
from enode_scheduler.planner.timeline import Timeline, build_timeline

# Floating-point slack when deciding whether the need just fits the horizon.
_FIT_SLACK_US = 1.0


def plan(
    state: VehicleState,
    goal: Goal,
    slots: Sequence[Slot],
    *,
    now: datetime,
    tail_price_per_kwh: float | None = None,
    tail_g_co2_per_kwh: float = 0.0,
) -> Schedule:
    """Cheapest placement of the energy `goal` needs in [now, deadline); see docs/planner.md.

    Exact for the plan-case contract (empty charge curve, no margin). With `tail_price_per_kwh`,
    time the slots do not cover is priced at that estimate (and `tail_g_co2_per_kwh`) and its
    windows are provisional; without it, slots must cover [now, deadline] or `InvalidCase` is
    raised. "Cheapest" is in `goal`'s objective (`planner/objective.py`): money, money plus
    priced CO2, or CO2 first; the schedule reports energy cost and kg CO2 apart.
    """
    check_inputs(state, goal, now=now)
    deadline = max(now, goal.deadline - timedelta(seconds=goal.deadline_margin_s))
    timeline = build_timeline(
        slots,
        now=now,
        deadline=deadline,
        tail_price=tail_price_per_kwh,
        tail_g_co2_per_kwh=tail_g_co2_per_kwh,
    )
    target = goal.target_soc_percent
    need_kwh = grid_need_kwh(state, state.soc_percent, target)
    if need_kwh <= 0:
        return explain(_schedule(timeline, state, [], feasible=True, soc=state.soc_percent), goal)
    total_us = charge_time_s(state, state.soc_percent, target) * 1e6
    horizon_us = (deadline - now) / timedelta(microseconds=1)
    if total_us > horizon_us + _FIT_SLACK_US:
        return explain(_cannot_make_it(timeline, state, horizon_us), goal)
    power_kw = need_kwh / (total_us / 3.6e9)
    floor_percent = min(goal.min_soc_percent, target)
    floor_us = round(charge_time_s(state, state.soc_percent, floor_percent) * 1e6)
    windows: list[tuple[float, float, WindowReason]] = []
    if floor_us > 0:
        windows.append((0.0, float(floor_us), WindowReason.MIN_SOC))
    placing = objective_timeline(timeline, goal, ranks_suffice=goal.start_penalty <= 0)
    if goal.start_penalty > 0:
        rest = place(
            placing.clipped(floor_us),
            total_us - floor_us,
            penalty=goal.start_penalty * 3.6e9 / power_kw,
            free_start=state.charging_now or floor_us > 0,
        )
    else:
        rest = place_cheapest(*placing.clipped_arrays(floor_us), total_us - floor_us)
    windows += [(start, end, WindowReason.CHEAPEST) for start, end in rest]
    return explain(
        _schedule(
            timeline,
            state,
            windows,
            feasible=True,
            soc=target,
            power_kw=power_kw,
            baseline_us=total_us,
        ),
        goal,
    )


def _cannot_make_it(timeline: Timeline, state: VehicleState, horizon_us: float) -> Schedule:
    reached = soc_after_s(state, state.soc_percent, horizon_us / 1e6)
    if horizon_us <= 0:
        return _schedule(timeline, state, [], feasible=False, soc=reached)
    power_kw = grid_need_kwh(state, state.soc_percent, reached) / (horizon_us / 3.6e9)
    windows = [(0.0, horizon_us, WindowReason.CANNOT_MAKE_IT)]
    return _schedule(
        timeline,
        state,
        windows,
        feasible=False,
        soc=reached,
        power_kw=power_kw,
        baseline_us=horizon_us,
    )


def grid_need_kwh(state: VehicleState, from_percent: float, to_percent: float) -> float:
    """Grid energy to raise the SoC from `from_percent` to `to_percent` (0 if already there)."""
    gap = max(0.0, to_percent - from_percent)
    return gap / 100.0 * state.battery_capacity_kwh / state.charge_efficiency


def check_inputs(state: VehicleState, goal: Goal, *, now: datetime) -> None:
    """Refuse a state or goal outside the contract, naming the field."""
    checks = (
        (state.battery_capacity_kwh > 0, "vehicle.battery_capacity_kwh must be > 0"),
        (0 <= state.soc_percent <= 100, "vehicle.soc_percent must be within 0..100"),
        (state.max_charge_kw > 0, "vehicle.max_charge_kw must be > 0"),
        (0 < state.charge_efficiency <= 1, "vehicle.charge_efficiency must be in (0, 1]"),
        (0 <= goal.target_soc_percent <= 100, "goal.target_soc_percent must be within 0..100"),
        (0 <= goal.min_soc_percent <= 100, "goal.min_soc_percent must be within 0..100"),
        (goal.start_penalty >= 0, "goal.start_penalty must be >= 0"),
        (goal.co2_price_per_kg >= 0, "goal.co2_price_per_kg must be >= 0"),
        (goal.deadline_margin_s >= 0, "goal.deadline_margin_s must be >= 0"),
        (goal.deadline > now, "goal.deadline must be after now"),
    )
    for ok, message in checks:
        if not ok:
            raise InvalidCase(message)


def _schedule(
    timeline: Timeline,
    state: VehicleState,
    spans: Sequence[tuple[float, float, WindowReason]],
    *,
    feasible: bool,
    soc: float,
    power_kw: float = 0.0,
    baseline_us: float = 0.0,
) -> Schedule:
    # a span under a microsecond cannot be expressed as a datetime window
    spans = [span for span in spans if span[1] - span[0] >= 1.0]
    windows = tuple(
        Window(
            timeline.at(start),
            timeline.at(end),
            reason,
            provisional=timeline.is_provisional(start, end),
        )
        for start, end, reason in sorted(spans)
    )
    merged = merge([(s, e) for s, e, _ in spans])
    starts = len(merged)
    if merged and merged[0][0] <= 0 and state.charging_now:
        starts -= 1
    charged_us = sum(e - s for s, e in merged)
    return Schedule(
        feasible=feasible,
        windows=windows,
        grid_energy_kwh=power_kw * charged_us / 3.6e9,
        cost=power_kw * sum(timeline.cost_per_kw(s, e) for s, e in merged),
        starts=starts,
        soc_at_deadline_percent=soc,
        baseline_cost=power_kw * timeline.cost_per_kw(0.0, baseline_us),
        co2_kg=power_kw * sum(timeline.co2_g_per_kw(s, e) for s, e in merged) / 1000.0,
        baseline_co2_kg=power_kw * timeline.co2_g_per_kw(0.0, baseline_us) / 1000.0,
    )
