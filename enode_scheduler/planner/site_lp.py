"""The configuration LP of a capped site, solved exactly by column generation with HiGHS.

Time is cut into segments in which the price and the set of cars that may charge are constant.
Cars are switched, never throttled, so in a segment the site runs one *configuration* (a set of
cars whose powers fit under the cap left in that segment) at a time, and any time-sharing of
configurations can be laid out as windows. The LP chooses how many hours each configuration runs:

    hours(s, C) >= 0,   sum_C hours(s, C) <= length(s)                      (time of segment s)
    sum_{s, C containing i} power(i) * hours(s, C) <= need(i)               (car i stops at target)

first maximising the energy delivered (least total shortfall), then, with that energy fixed,
minimising its cost. A fleet of n cars has up to 2^n configurations per segment, so columns are
generated: the pricing problem of a segment is a 0/1 knapsack over the cars (value from the duals,
weight the car's power, capacity the cap left), solved exactly by branch and bound. The LP optimum
is the true optimum of the model (the site-case contract's quality bar).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import highspy

# `highspy.Highs()` turns its callbacks on before an option can be set, which prints HiGHS' banner
# on stdout (plan-site's JSON channel); the core class underneath has the same model API, quietly.
from highspy._core import _Highs

# A column must improve the objective by more than this (in currency or kWh per hour of use):
# HiGHS' dual values carry ~1e-9 of noise, and re-adding a known column would loop forever.
_REDUCED_COST_EPS = 1e-9
_MAX_ROUNDS = 10_000
_UNUSED_HOURS = 1e-10
# Relative slack of the energy floor when the cost phase finds it out of reach, tried in turn.
_FLOOR_SLACKS = (1e-8, 1e-7, 1e-6)


class _Infeasible(RuntimeError):
    """The master LP has no solution (only a rounding-tight energy floor can cause it)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of constant price and constant set of cars that may charge."""

    hours: float
    price_per_kwh: float
    cap_kw: float
    cars: tuple[int, ...]


# The objective's weight per kWh delivered in a segment: -1 to maximise energy, else its price.
_UnitCost = Callable[[Segment], float]


@dataclass(frozen=True, slots=True)
class Allocation:
    """The LP's answer: per segment, the configurations that run and for how many hours."""

    runs: tuple[tuple[tuple[tuple[int, ...], float], ...], ...]
    delivered_kwh: float
    cost: float


def solve_configurations(
    segments: Sequence[Segment], power_kw: Sequence[float], need_kwh: Sequence[float]
) -> Allocation:
    """The least-shortfall, then least-cost time-sharing of configurations per segment."""
    if not any(segment.cars for segment in segments):
        return Allocation(runs=tuple(() for _ in segments), delivered_kwh=0.0, cost=0.0)
    master = _Master(segments, power_kw, need_kwh)
    delivered = -master.optimise(lambda _segment: -1.0)
    master.fix_delivered(delivered)
    for slack in _FLOOR_SLACKS:
        try:
            cost = master.optimise(lambda segment: segment.price_per_kwh)
            break
        except _Infeasible:
            # HiGHS' rounding can put a floor of exactly the first optimum out of reach (seen
            # in a month of a workplace garage): a hair lower, then a little more.
            master.relax_delivered(delivered * (1.0 - slack) - 10 * slack)
    else:
        cost = master.optimise(lambda segment: segment.price_per_kwh)
    return Allocation(runs=master.runs(), delivered_kwh=delivered, cost=cost)


class _Master:
    """The restricted master LP: the configurations found so far."""

    def __init__(
        self, segments: Sequence[Segment], power_kw: Sequence[float], need_kwh: Sequence[float]
    ) -> None:
        self.segments = segments
        self.power = power_kw
        self.highs = _Highs()
        self.highs.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        count = len(segments) + len(need_kwh)
        lower = [-inf] * count
        upper = [segment.hours for segment in segments] + [max(0.0, n) for n in need_kwh]
        self.highs.addRows(count, lower, upper, 0, [0] * count, [], [])
        self.energy_row0 = len(segments)
        self.delivered_row: int | None = None
        self.columns: list[tuple[int, tuple[int, ...]]] = []
        self.known: set[tuple[int, tuple[int, ...]]] = set()
        for index, segment in enumerate(segments):
            for car in segment.cars:
                if power_kw[car] <= segment.cap_kw:
                    self._add(index, (car,), 0.0)

    def _add(self, segment: int, cars: tuple[int, ...], cost: float) -> None:
        indices = [segment] + [self.energy_row0 + car for car in cars]
        values = [1.0] + [self.power[car] for car in cars]
        if self.delivered_row is not None:
            indices.append(self.delivered_row)
            values.append(sum(self.power[car] for car in cars))
        self.highs.addCol(cost, 0.0, highspy.kHighsInf, len(indices), indices, values)
        self.columns.append((segment, cars))
        self.known.add((segment, cars))

    def _column_cost(self, segment: int, cars: tuple[int, ...], gain: float) -> float:
        return gain * sum(self.power[car] for car in cars)

    def optimise(self, unit_cost: _UnitCost) -> float:
        """Column generation to optimality for a per-kWh cost per segment; the LP objective."""
        costs = [
            self._column_cost(seg, cars, unit_cost(self.segments[seg]))
            for seg, cars in self.columns
        ]
        if costs:
            self.highs.changeColsCost(len(costs), list(range(len(costs))), costs)
        for _ in range(_MAX_ROUNDS):
            self._run()
            duals = list(self.highs.getSolution().row_dual)
            added = 0
            for index, segment in enumerate(self.segments):
                found = self._price(index, segment, unit_cost(segment), duals)
                if found is not None and (index, found) not in self.known:
                    self._add(index, found, self._column_cost(index, found, unit_cost(segment)))
                    added += 1
            if not added:
                return float(self.highs.getInfo().objective_function_value)
        raise RuntimeError("site LP: column generation did not converge")  # pragma: no cover

    def _price(
        self, index: int, segment: Segment, unit_cost: float, duals: Sequence[float]
    ) -> tuple[int, ...] | None:
        """The configuration with the most negative reduced cost in a segment, if any."""
        shared = unit_cost - (duals[self.delivered_row] if self.delivered_row is not None else 0.0)
        items = []
        for car in segment.cars:
            power = self.power[car]
            value = power * (duals[self.energy_row0 + car] - shared)
            if value > 0.0 and power <= segment.cap_kw:
                items.append((value, power, car))
        if not items:
            return None
        value, chosen = best_subset(items, segment.cap_kw)
        # reduced cost = -(value + dual of the segment's time row)
        if value + duals[index] <= _REDUCED_COST_EPS * (1.0 + value):
            return None
        return tuple(sorted(chosen))

    def fix_delivered(self, delivered: float) -> None:
        """Keep the least shortfall found while the cost is minimised."""
        # Within HiGHS' feasibility tolerance (1e-7) of the optimum a tighter floor can be declared
        # infeasible; half a Wh of slack is far below what a plan counts as delivered (1e-6 kWh).
        floor = delivered - 5e-7
        row = self.highs.getNumRow()
        indices = list(range(len(self.columns)))
        values = [sum(self.power[car] for car in cars) for _seg, cars in self.columns]
        self.highs.addRow(floor, highspy.kHighsInf, len(indices), indices, values)
        self.delivered_row = row

    def relax_delivered(self, floor: float) -> None:
        assert self.delivered_row is not None
        self.highs.changeRowBounds(self.delivered_row, floor, highspy.kHighsInf)

    def runs(self) -> tuple[tuple[tuple[tuple[int, ...], float], ...], ...]:
        hours = list(self.highs.getSolution().col_value)
        per_segment: list[list[tuple[tuple[int, ...], float]]] = [[] for _ in self.segments]
        for (segment, cars), value in zip(self.columns, hours, strict=True):
            if value > _UNUSED_HOURS:
                per_segment[segment].append((cars, value))
        return tuple(tuple(runs) for runs in per_segment)

    def _run(self) -> None:
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise _Infeasible("site LP: HiGHS ended with Infeasible")
        if status != highspy.HighsModelStatus.kOptimal:  # pragma: no cover - always feasible
            raise RuntimeError(
                f"site LP: HiGHS ended with {self.highs.modelStatusToString(status)}"
            )


def best_subset(
    items: Sequence[tuple[float, float, int]], capacity: float
) -> tuple[float, tuple[int, ...]]:
    """Exact 0/1 knapsack: the subset of (value, weight, id) items of largest value that fits.

    Branch and bound on items sorted by value density, bounded by the fractional relaxation.
    """
    ordered = sorted(items, key=lambda item: item[0] / item[1], reverse=True)
    best_value = 0.0
    best: tuple[int, ...] = ()
    stack: list[tuple[int, float, float, tuple[int, ...]]] = [(0, 0.0, capacity, ())]
    while stack:
        position, value, room, taken = stack.pop()
        if value > best_value:
            best_value, best = value, taken
        if position == len(ordered) or _fractional_bound(ordered, position, room) + value <= (
            best_value + 1e-12
        ):
            continue
        item_value, weight, item = ordered[position]
        stack.append((position + 1, value, room, taken))
        if weight <= room + 1e-9:
            stack.append((position + 1, value + item_value, room - weight, (*taken, item)))
    return best_value, best


def _fractional_bound(
    ordered: Sequence[tuple[float, float, int]], position: int, room: float
) -> float:
    bound = 0.0
    for value, weight, _item in ordered[position:]:
        if weight <= room:
            bound += value
            room -= weight
        else:
            return bound + value * room / weight
    return bound
