"""An independent exact optimum of the plan-case model: a MILP solved by HiGHS.

Per price piece i: charge time l_i touching its left edge and r_i touching its right edge
(an interval strictly inside a piece can slide to an edge without cost or an extra start).
Binaries A_i / B_i say that charging touches the left / right edge, F_i that the piece is full.
A start happens at the left edge when A_i and not B_{i-1}, inside the piece when B_i and not F_i.
The min-SoC floor is forced by fixing the pieces before the floor's end as full.

The objective per kWh is `price_of(slot)`: the price by default; the CO2 tests pass the blended
price or the intensity, and `cap` adds a limit on another per-kWh sum (lexicographic checks).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import highspy

from enode_scheduler.planner.models import Goal, Slot, VehicleState


def _price(slot: Slot) -> float:
    return slot.price_per_kwh


def reference_objective(
    state: VehicleState,
    goal: Goal,
    slots: list[Slot],
    now: datetime,
    *,
    price_of: Callable[[Slot], float] = _price,
    cap: tuple[Callable[[Slot], float], float] | None = None,
) -> float:
    """Minimum of energy cost + start_penalty * starts, for a feasible contract case.

    With `cap = (value_of, limit)`, only plans whose sum of `value_of(slot)` per kWh stays within
    `limit` count.
    """
    kwh_per_percent = state.battery_capacity_kwh / 100 / state.charge_efficiency
    need_s = max(0.0, goal.target_soc_percent - state.soc_percent) * kwh_per_percent
    need_s = need_s / state.max_charge_kw * 3600
    floor = min(goal.min_soc_percent, goal.target_soc_percent)
    floor_s = max(0.0, floor - state.soc_percent) * kwh_per_percent / state.max_charge_kw * 3600
    if need_s <= 0:
        return 0.0
    pieces = _pieces(slots, now, goal.deadline, cut_s=floor_s, price_of=price_of)
    capped = _pieces(slots, now, goal.deadline, cut_s=floor_s, price_of=cap[0]) if cap else []
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 1e-9)
    highs.setOptionValue("mip_abs_gap", 1e-9)
    objective = 0.0 * highs.addVariable(lb=0, ub=0)
    total = None
    capped_sum = 0.0 * highs.addVariable(lb=0, ub=0)
    previous_b = None
    for index, (start_s, end_s, price) in enumerate(pieces):
        length = end_s - start_s
        left = highs.addVariable(lb=length if end_s <= floor_s + 1e-9 else 0, ub=length)
        right = highs.addVariable(lb=0, ub=length)
        a, b, f = highs.addBinary(), highs.addBinary(), highs.addBinary()
        inner, edge = highs.addVariable(lb=0), highs.addVariable(lb=0)
        highs.addConstr(left + right <= length)
        highs.addConstr(left - length * a <= 0)
        highs.addConstr(right - length * b <= 0)
        highs.addConstr(f - a <= 0)
        highs.addConstr(f - b <= 0)
        highs.addConstr(left + right - length * f >= 0)
        highs.addConstr(inner - b + f >= 0)
        if previous_b is None:
            highs.addConstr(edge - a >= (-1 if state.charging_now else 0))
        else:
            highs.addConstr(edge - a + previous_b >= 0)
        previous_b = b
        energy_cost = price * state.max_charge_kw / 3600
        objective = objective + energy_cost * (left + right) + goal.start_penalty * (inner + edge)
        total = left + right if total is None else total + left + right
        if cap:
            capped_sum = capped_sum + capped[index][2] * state.max_charge_kw / 3600 * (left + right)
    assert total is not None
    highs.addConstr(total == need_s)
    if cap:
        highs.addConstr(capped_sum <= cap[1])
    highs.minimize(objective)
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(highs.getInfo().objective_function_value)


def _pieces(
    slots: list[Slot],
    now: datetime,
    deadline: datetime,
    *,
    cut_s: float,
    price_of: Callable[[Slot], float],
) -> list[tuple[float, float, float]]:
    horizon_s = (deadline - now).total_seconds()
    out = []
    for slot in slots:
        start = max(0.0, (slot.start - now).total_seconds())
        end = min(horizon_s, (slot.end - now).total_seconds())
        if end - start < 1e-6:
            continue
        price = price_of(slot)
        if start < cut_s < end:
            out += [(start, cut_s, price), (cut_s, end, price)]
        else:
            out.append((start, end, price))
    return [piece for piece in out if piece[1] - piece[0] >= 1e-6]
