"""The joint site planner: cars behind one connection, planned together under its power cap.

The model is the site-case contract's: each car charges at its constant `max_charge_kw` while on,
and at every instant the powers of the cars that are on sum to at most `max_kw`. Objective, in
order: least total shortfall, then least energy cost plus start penalties.

1. Min-SoC parts are charged first, from `now`, earliest deadline first, as many cars at once as
   the cap allows (a car that does not fit waits for one that finishes).
2. The rest is the configuration LP of `site_lp`, solved exactly, on the cap left over.
3. Each segment's configurations are laid out one after another, chained so that a car that is on
   at the end of one configuration stays on at the start of the next where possible (fewer starts).

Without start penalties the plan is optimal. With penalties the LP ignores them, so the plan is
near-optimal: `SitePlan.lower_bound` (the LP cost plus one start for every car that must start)
bounds the true optimum from below and `SitePlan.gap` says how far the plan can be from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.models import Slot, Window, WindowReason
from enode_scheduler.planner.planning import check_inputs
from enode_scheduler.planner.site_lp import Segment, solve_configurations
from enode_scheduler.planner.site_models import CarPlan, SiteCar, SitePlan

__all__ = ["FED_KWH_EPS", "is_fed", "plan_site"]

# Energies within this of each other are equal (kWh); spans shorter than this vanish (seconds).
_KWH_EPS = 1e-6
_SECOND_EPS = 1e-6
# A car this close to its need (kWh) is fed.
FED_KWH_EPS = 1e-5


@dataclass(slots=True)
class _Car:
    """One car's numbers in the planner's units (seconds since the epoch, kW, kWh)."""

    power_kw: float
    deadline: float
    need_kwh: float
    floor_kwh: float
    charging_now: bool
    penalty: float
    delivered_kwh: float = 0.0


def is_fed(delivered_kwh: float, needed_kwh: float) -> bool:
    """Whether a car got its needed energy, up to the solver's noise."""
    return delivered_kwh >= needed_kwh - max(FED_KWH_EPS, 1e-7 * needed_kwh)


def plan_site(
    cars: Sequence[SiteCar], *, max_kw: float, slots: Sequence[Slot], now: datetime
) -> SitePlan:
    """Plan every car of a site jointly so that their powers never sum above `max_kw`."""
    _check(cars, max_kw=max_kw, now=now)
    start = now.timestamp()
    prices = sorted(slots, key=lambda slot: slot.start)
    numbers = [_numbers(car, start) for car in cars]
    floors = _floor_phase(numbers, max_kw=max_kw, start=start)
    segments, fixed = _segments(numbers, floors, prices, max_kw=max_kw, start=start)
    rest = [max(0.0, car.need_kwh - car.delivered_kwh) for car in numbers]
    allocation = solve_configurations(segments, [car.power_kw for car in numbers], rest)
    spans = _lay_out(numbers, fixed, allocation.runs)
    return _result(cars, numbers, spans, prices, max_kw=max_kw, now=now, lp_cost=allocation.cost)


def _check(cars: Sequence[SiteCar], *, max_kw: float, now: datetime) -> None:
    if not max_kw > 0:
        raise InvalidCase(f"site.max_kw must be > 0, got {max_kw!r}")
    if not cars:
        raise InvalidCase("vehicles must be a non-empty array")
    seen: set[str] = set()
    for car in cars:
        if car.id in seen:
            raise InvalidCase(f"vehicle id {car.id!r} appears twice")
        seen.add(car.id)
        check_inputs(car.state, car.goal, now=now)


def _numbers(car: SiteCar, start: float) -> _Car:
    state, goal = car.state, car.goal
    kwh_per_percent = state.battery_capacity_kwh / 100 / state.charge_efficiency
    target = goal.target_soc_percent
    floor = min(goal.min_soc_percent, target)
    return _Car(
        power_kw=state.max_charge_kw,
        deadline=max(start, goal.deadline.timestamp() - goal.deadline_margin_s),
        need_kwh=max(0.0, target - state.soc_percent) * kwh_per_percent,
        floor_kwh=max(0.0, floor - state.soc_percent) * kwh_per_percent,
        charging_now=state.charging_now,
        penalty=goal.start_penalty,
    )


# (start, end, car) spans in seconds since the epoch
Span = tuple[float, float, int]


def _floor_phase(cars: list[_Car], *, max_kw: float, start: float) -> list[Span]:
    """Charge the min-SoC parts from `start`, earliest deadline first, within the cap."""
    left = {i: car.floor_kwh for i, car in enumerate(cars) if car.floor_kwh > _KWH_EPS}
    spans: list[Span] = []
    moment = start
    while left:
        waiting = sorted(
            (i for i in left if cars[i].deadline > moment + _SECOND_EPS),
            key=lambda i: (cars[i].deadline, i),
        )
        on: list[int] = []
        used = 0.0
        for i in waiting:
            if used + cars[i].power_kw <= max_kw + 1e-9:
                on.append(i)
                used += cars[i].power_kw
        if not on:
            break
        until = min(
            min(moment + left[i] / cars[i].power_kw * 3600 for i in on),
            min(cars[i].deadline for i in on),
        )
        for i in on:
            spans.append((moment, until, i))
            energy = cars[i].power_kw * (until - moment) / 3600
            cars[i].delivered_kwh += energy
            left[i] -= energy
            if left[i] <= _KWH_EPS or cars[i].deadline <= until + _SECOND_EPS:
                del left[i]
        for i in [i for i in left if cars[i].deadline <= until + _SECOND_EPS]:
            del left[i]
        moment = until
    return spans


def _segments(
    cars: list[_Car],
    floors: list[Span],
    prices: Sequence[Slot],
    *,
    max_kw: float,
    start: float,
) -> tuple[list[Segment], list[tuple[float, float, tuple[int, ...]]]]:
    """Cut [start, last deadline] where a price, a deadline or a min-SoC span changes."""
    end = max(car.deadline for car in cars)
    cuts = {start, end}
    cuts.update(car.deadline for car in cars)
    for slot in prices:
        cuts.update((slot.start.timestamp(), slot.end.timestamp()))
    for span_start, span_end, _car in floors:
        cuts.update((span_start, span_end))
    points = sorted(t for t in cuts if start <= t <= end)
    rest = [car.need_kwh - car.delivered_kwh for car in cars]
    segments: list[Segment] = []
    bounds: list[tuple[float, float, tuple[int, ...]]] = []
    for left, right in itertools.pairwise(points):
        if right - left < _SECOND_EPS:
            continue
        middle = (left + right) / 2
        fixed = tuple(sorted(car for a, b, car in floors if a <= middle < b))
        cap_left = max_kw - sum(cars[i].power_kw for i in fixed)
        free = tuple(
            i
            for i, car in enumerate(cars)
            if i not in fixed
            and rest[i] > _KWH_EPS
            and car.deadline >= right - _SECOND_EPS
            and car.power_kw <= cap_left + 1e-9
        )
        price = _price_at(prices, middle)
        segments.append(Segment((right - left) / 3600, price, cap_left + 1e-9, free))
        bounds.append((left, right, fixed))
    return segments, bounds


def _price_at(prices: Sequence[Slot], moment: float) -> float:
    for slot in prices:
        if slot.start.timestamp() <= moment < slot.end.timestamp():
            return slot.price_per_kwh
    when = datetime.fromtimestamp(moment, tz=UTC).isoformat()
    raise InvalidCase(f"prices do not cover {when}")


def _lay_out(
    cars: list[_Car],
    bounds: Sequence[tuple[float, float, tuple[int, ...]]],
    runs: Sequence[Sequence[tuple[tuple[int, ...], float]]],
) -> list[tuple[float, float, int, WindowReason]]:
    """Configurations one after another in each segment, chained to keep cars on across them."""
    spans: list[tuple[float, float, int, WindowReason]] = []
    on = {i for i, car in enumerate(cars) if car.charging_now}
    for (left, right, fixed), segment_runs in zip(bounds, runs, strict=True):
        spans.extend((left, right, car, WindowReason.MIN_SOC) for car in fixed)
        moment = left
        pending = list(segment_runs)
        while pending:
            pick = max(pending, key=lambda run: (len(on & set(run[0])), -len(on ^ set(run[0]))))
            pending.remove(pick)
            cars_on, hours = pick
            until = min(right, moment + hours * 3600)
            spans.extend((moment, until, car, WindowReason.CHEAPEST) for car in cars_on)
            on = set(cars_on)
            moment = until
        if moment < right - _SECOND_EPS:
            on = set()
        on |= set(fixed)
    return spans


def _result(
    site_cars: Sequence[SiteCar],
    cars: list[_Car],
    spans: list[tuple[float, float, int, WindowReason]],
    prices: Sequence[Slot],
    *,
    max_kw: float,
    now: datetime,
    lp_cost: float,
) -> SitePlan:
    start = now.timestamp()
    plans: list[CarPlan] = []
    total_cost = 0.0
    objective = 0.0
    must_start = 0.0
    for index, (site_car, car) in enumerate(zip(site_cars, cars, strict=True)):
        own = sorted((a, b, reason) for a, b, i, reason in spans if i == index and b - a > 0)
        energy = sum(car.power_kw * (b - a) / 3600 for a, b, _ in own)
        cost = sum(
            car.power_kw * (b - a) / 3600 * _price_at(prices, (a + b) / 2) for a, b, _ in own
        )
        # HiGHS' answers carry ~1e-6 kWh of noise (its 1e-7 tolerance times kW): not a shortfall.
        feasible = is_fed(energy, car.need_kwh)
        windows = _merge(own, feasible=feasible)
        starts = sum(1 for w in windows if not (car.charging_now and w.start.timestamp() <= start))
        state = site_car.state
        soc = (
            state.soc_percent + energy * state.charge_efficiency / state.battery_capacity_kwh * 100
        )
        plans.append(
            CarPlan(
                id=site_car.id,
                feasible=feasible,
                windows=windows,
                grid_energy_kwh=energy,
                needed_kwh=car.need_kwh,
                cost=cost,
                starts=starts,
                soc_at_deadline_percent=min(100.0, soc),
            )
        )
        total_cost += cost
        objective += cost + car.penalty * starts
        if car.need_kwh > _KWH_EPS and not car.charging_now:
            must_start += car.penalty
    floor_cost = sum(
        cars[i].power_kw * (b - a) / 3600 * _price_at(prices, (a + b) / 2)
        for a, b, i, reason in spans
        if reason is WindowReason.MIN_SOC
    )
    all_fed = all(plan.feasible for plan in plans)
    lower_bound = floor_cost + lp_cost + (must_start if all_fed else 0.0)
    if not any(car.penalty > 0 for car in cars):
        # Without penalties the LP is the whole objective: the plan is the optimum, and what
        # separates the two numbers is rounding, not a gap.
        lower_bound = objective
    return SitePlan(
        cars=tuple(plans),
        cost=total_cost,
        peak_kw=_peak_kw(cars, spans),
        objective=objective,
        lower_bound=min(lower_bound, objective),
        now=now,
    )


def _merge(
    own: Sequence[tuple[float, float, WindowReason]], *, feasible: bool
) -> tuple[Window, ...]:
    """Touching spans become one window (one start); a short car's windows say it cannot make it."""
    merged: list[tuple[float, float, WindowReason]] = []
    for a, b, reason in own:
        if merged and a - merged[-1][1] <= _SECOND_EPS:
            first, last, kept = merged[-1]
            merged[-1] = (first, max(last, b), kept)
        else:
            merged.append((a, b, reason))
    return tuple(
        Window(
            start=datetime.fromtimestamp(a, tz=UTC),
            end=datetime.fromtimestamp(b, tz=UTC),
            reason=reason if feasible else WindowReason.CANNOT_MAKE_IT,
        )
        for a, b, reason in merged
    )


def _peak_kw(
    cars: Sequence[_Car], spans: Sequence[tuple[float, float, int, WindowReason]]
) -> float:
    """The highest sum of the powers of the cars on at one instant."""
    events: list[tuple[float, float]] = []
    for a, b, i, _reason in spans:
        if b - a > _SECOND_EPS:
            events.append((a, cars[i].power_kw))
            events.append((b, -cars[i].power_kw))
    # ends before starts at the same instant: a car handing over to another is not an overlap
    events.sort(key=lambda event: (event[0], event[1]))
    level = peak = 0.0
    for _moment, change in events:
        level += change
        peak = max(peak, level)
    return round(peak, 9)
