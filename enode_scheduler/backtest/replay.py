"""Replay one session three ways: charge at once, plan like the daemon, plan with foresight.

The daemon-style plan is made at plug-in with only the prices published by then (the unknown
tail valued by `estimate_tail_price`), and made again at every day-ahead publication while the
car is plugged in, from the SoC the executed part of the previous plan reached. Its cost is what
the executed windows cost at the real prices. Foresight plans once with every price known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.sessions import Session
from enode_scheduler.planner import (
    Goal,
    VehicleState,
    estimate_tail_intensity,
    estimate_tail_price,
    plan,
)
from enode_scheduler.planner.optimize import merge

_DAY = timedelta(hours=24)
Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How sessions become planning cases (see `enode-scheduler backtest --help`)."""

    power_kw: float | None = None
    default_power_kw: float = 7.4
    capacity_kwh: float = 60.0
    efficiency: float = 0.9
    target_soc_percent: float = 80.0
    start_penalty: float = 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """The three costs of one session, and the windows behind the first two."""

    session: Session
    energy_kwh: float
    baseline_cost: float
    planned_cost: float
    foresight_cost: float
    planned_starts: int
    foresight_starts: int
    replans: int
    feasible: bool
    baseline: Span
    planned: tuple[Span, ...]


def replay(session: Session, prices: PriceSeries, options: ReplayOptions) -> Outcome:
    """Cost `session` charged at once, planned like the daemon, and planned with foresight."""
    power = options.power_kw or session.max_power_kw or options.default_power_kw
    state, goal = session_case(session, power, options)
    duration_s = (session.plug_out - session.plug_in).total_seconds()
    energy = min(session.energy_kwh, power * duration_s / 3600.0)
    baseline_end = session.plug_in + timedelta(hours=energy / power)
    foresight = plan(
        state, goal, prices.between(session.plug_in, session.plug_out), now=session.plug_in
    )
    planned, replans = daemon_windows(session, prices, state, goal)
    planned_cost = sum(prices.cost(start, end, power) for start, end in planned)
    return Outcome(
        session=session,
        energy_kwh=energy,
        baseline_cost=prices.cost(session.plug_in, baseline_end, power),
        planned_cost=planned_cost,
        foresight_cost=foresight.cost,
        planned_starts=len(planned),
        foresight_starts=foresight.starts,
        replans=replans,
        feasible=foresight.feasible,
        baseline=(session.plug_in, baseline_end),
        planned=planned,
    )


def session_case(
    session: Session, power: float, options: ReplayOptions
) -> tuple[VehicleState, Goal]:
    target, efficiency = options.target_soc_percent, options.efficiency
    # A session may deliver more than the default battery holds below the target: grow it.
    capacity = max(options.capacity_kwh, session.energy_kwh * efficiency * 100.0 / target)
    soc = target - session.energy_kwh * efficiency / capacity * 100.0
    state = VehicleState(
        battery_capacity_kwh=capacity,
        soc_percent=max(0.0, soc),
        max_charge_kw=power,
        charge_efficiency=efficiency,
    )
    goal = Goal(target, session.plug_out, start_penalty=options.start_penalty)
    return state, goal


def daemon_windows(
    session: Session, prices: PriceSeries, state: VehicleState, goal: Goal
) -> tuple[tuple[Span, ...], int]:
    """The windows executed by planning like the daemon, and the number of replans.

    Intensity on the slots (`Slot.g_co2_per_kwh`) is treated like the price: known as far as the
    published prices, the tail estimated from the last known day.
    """
    events = [session.plug_in, *prices.publications(session.plug_in, session.plug_out)]
    executed: list[Span] = []
    charging = False
    soc = state.soc_percent
    kwh_per_percent = state.battery_capacity_kwh / 100.0 / state.charge_efficiency
    for index, now in enumerate(events):
        until = events[index + 1] if index + 1 < len(events) else session.plug_out
        known_end = min(prices.known_at(now), session.plug_out)
        tail, tail_g = None, 0.0
        if known_end < session.plug_out:
            recent = prices.between(known_end - _DAY, known_end)
            tail, tail_g = estimate_tail_price(recent), estimate_tail_intensity(recent)
        current = replace(state, soc_percent=min(soc, 100.0), charging_now=charging)
        schedule = plan(
            current, goal, prices.between(now, known_end), now=now,
            tail_price_per_kwh=tail, tail_g_co2_per_kwh=tail_g,
        )  # fmt: skip
        for window in schedule.windows:
            start, end = window.start, min(window.end, until)
            if end > start:
                executed.append((start, end))
                hours = (end - start).total_seconds() / 3600.0
                soc += hours * state.max_charge_kw / kwh_per_percent
        charging = any(w.start < until <= w.end for w in schedule.windows)
    base = session.plug_in
    spans = merge([((s - base).total_seconds(), (e - base).total_seconds()) for s, e in executed])
    joined = tuple((base + timedelta(seconds=s), base + timedelta(seconds=e)) for s, e in spans)
    return joined, len(events) - 1
