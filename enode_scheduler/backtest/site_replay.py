"""Replay a shared garage's real sessions under a connection cap, three ways.

- `independent`: every car planned on its own at plug-in (the single-car optimum), the cap ignored.
- `reactive`: the same plans behind a limiter that, whenever the cars that want to charge exceed
  the cap, stops the newest ones (latest plug-in) until the rest fit; nothing is replanned.
- `joint`: the site planner replans every car present at each plug-in and plug-out, under the cap.

Prices are known for the whole of every session (perfect foresight) in all three, so the
comparison isolates what the cap does to each strategy. A session's goal is the energy it really
drew, at most what its power limit allows in its real duration.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.sessions import Session
from enode_scheduler.planner import plan
from enode_scheduler.planner.models import Goal, VehicleState
from enode_scheduler.planner.site import plan_site
from enode_scheduler.planner.site_models import SiteCar

# Goals are energies: a 100 kWh battery at 100 % efficiency makes 1 % one kWh.
_CAPACITY_KWH = 100.0
_SHORT_KWH = 0.01
Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Car:
    """A session as the replay sees it: when, how much, how fast."""

    id: str
    plug_in: datetime
    plug_out: datetime
    need_kwh: float
    power_kw: float


@dataclass(frozen=True, slots=True)
class StrategyResult:
    name: str
    cost: float
    energy_kwh: float
    goals_missed: int
    kwh_short: float
    seconds_above_cap: float
    peak_kw: float
    plans: int


def cars_of(sessions: Sequence[Session]) -> list[Car]:
    """Sessions with a positive duration and energy; power from the data, else the mean power."""
    cars = []
    for session in sessions:
        hours = (session.plug_out - session.plug_in).total_seconds() / 3600
        if hours <= 0 or session.energy_kwh <= 0:
            continue
        power = session.max_power_kw or session.energy_kwh / hours
        need = min(session.energy_kwh, power * hours, _CAPACITY_KWH)
        cars.append(Car(session.session_id, session.plug_in, session.plug_out, need, power))
    return cars


def uncontrolled_peak_kw(cars: Sequence[Car]) -> float:
    """The highest load if every car charged at full power from plug-in until it had its energy."""
    return _load_profile(
        {
            car.id: [(car.plug_in, car.plug_in + _hours(car.need_kwh / car.power_kw))]
            for car in cars
        },
        {car.id: car.power_kw for car in cars},
        cap_kw=float("inf"),
    )[1]


def independent(cars: Sequence[Car], prices: PriceSeries) -> dict[str, list[Interval]]:
    """Each car's own optimum, planned once at plug-in."""
    out: dict[str, list[Interval]] = {}
    for car in cars:
        state, goal = _state(car), _goal(car, car.need_kwh)
        schedule = plan(state, goal, prices.between(car.plug_in, car.plug_out), now=car.plug_in)
        out[car.id] = [(w.start, w.end) for w in schedule.windows]
    return out


def reactive(
    cars: Sequence[Car], wanted: dict[str, list[Interval]], cap_kw: float
) -> dict[str, list[Interval]]:
    """The independent plans behind a limiter that stops the newest cars over the cap."""
    by_id = {car.id: car for car in cars}
    moments = sorted({t for spans in wanted.values() for span in spans for t in span})
    out: dict[str, list[Interval]] = {car.id: [] for car in cars}
    for left, right in itertools.pairwise(moments):
        on = [
            cid for cid, spans in wanted.items() if any(a <= left and right <= b for a, b in spans)
        ]
        on.sort(key=lambda cid: by_id[cid].plug_in)
        while on and sum(by_id[cid].power_kw for cid in on) > cap_kw + 1e-9:
            on.pop()
        for cid in on:
            out[cid].append((left, right))
    return out


def joint(
    cars: Sequence[Car], prices: PriceSeries, cap_kw: float
) -> tuple[dict[str, list[Interval]], int]:
    """Replan the cars present at every plug-in and plug-out; (charging intervals, plans made)."""
    events = sorted({t for car in cars for t in (car.plug_in, car.plug_out)})
    delivered = {car.id: 0.0 for car in cars}
    out: dict[str, list[Interval]] = {car.id: [] for car in cars}
    plans = 0
    for now, following in itertools.pairwise(events):
        present = [
            car
            for car in cars
            if car.plug_in <= now < car.plug_out
            and car.need_kwh - delivered[car.id] > _SHORT_KWH / 10
            and car.power_kw <= cap_kw
        ]
        if not present:
            continue
        site_cars = [
            SiteCar(
                car.id,
                _state(car),
                _goal(car, car.need_kwh - delivered[car.id]),
            )
            for car in present
        ]
        horizon = max(car.plug_out for car in present)
        result = plan_site(site_cars, max_kw=cap_kw, slots=prices.between(now, horizon), now=now)
        plans += 1
        for car, part in zip(present, result.cars, strict=True):
            for window in part.windows:
                start, end = max(window.start, now), min(window.end, following)
                if end > start:
                    out[car.id].append((start, end))
                    delivered[car.id] += car.power_kw * (end - start).total_seconds() / 3600
    return out, plans


def score(
    name: str,
    cars: Sequence[Car],
    charging: dict[str, list[Interval]],
    prices: PriceSeries,
    cap_kw: float,
    *,
    plans: int,
) -> StrategyResult:
    cost = energy = short = 0.0
    missed = 0
    for car in cars:
        spans = charging.get(car.id, [])
        got = sum(car.power_kw * (b - a).total_seconds() / 3600 for a, b in spans)
        cost += sum(prices.cost(a, b, car.power_kw) for a, b in spans)
        energy += got
        gap = car.need_kwh - got
        if gap > _SHORT_KWH:
            missed += 1
            short += gap
    above, peak = _load_profile(charging, {car.id: car.power_kw for car in cars}, cap_kw=cap_kw)
    return StrategyResult(name, cost, energy, missed, short, above, peak, plans)


def _load_profile(
    charging: dict[str, list[Interval]], power: dict[str, float], *, cap_kw: float
) -> tuple[float, float]:
    """(seconds the summed power is above the cap, the peak power)."""
    events: list[tuple[datetime, float]] = []
    for cid, spans in charging.items():
        for a, b in spans:
            if b > a:
                events += [(a, power[cid]), (b, -power[cid])]
    events.sort(key=lambda event: (event[0], event[1]))
    level = peak = above = 0.0
    previous: datetime | None = None
    for moment, change in events:
        if previous is not None and level > cap_kw + 1e-6:
            above += (moment - previous).total_seconds()
        level += change
        peak = max(peak, level)
        previous = moment
    return above, peak


def _state(car: Car) -> VehicleState:
    return VehicleState(
        battery_capacity_kwh=_CAPACITY_KWH,
        soc_percent=0.0,
        max_charge_kw=car.power_kw,
        charge_efficiency=1.0,
    )


def _goal(car: Car, need_kwh: float) -> Goal:
    return Goal(target_soc_percent=min(100.0, need_kwh), deadline=car.plug_out)


def _hours(hours: float) -> timedelta:
    return timedelta(hours=hours)
