"""Charging time and reachable SoC under a charge curve (power as a function of SoC).

The contract's model is constant power; a car's real curve tapers near full. With a curve the
planner keeps the exact placement of the contract but sizes it with the curve: the charging time
is the time the curve needs, and the plan runs at the average power of that stretch. So the last
10-20 % plan at the lower power the car really takes; the cost is exact only for a flat curve.
"""

from __future__ import annotations

from bisect import bisect_right

from enode_scheduler.planner.models import CurvePoint, VehicleState

# Integration step in SoC percent: fine enough for minute-level timing, cheap enough per plan.
_STEP_PERCENT = 0.25


def power_at(state: VehicleState, soc_percent: float) -> float:
    """Grid power (kW) the car takes at `soc_percent`, never above `max_charge_kw`."""
    curve = state.charge_curve
    if not curve:
        return state.max_charge_kw
    socs = [p.soc_percent for p in curve]
    index = bisect_right(socs, soc_percent)
    if index == 0:
        power = curve[0].power_kw
    elif index == len(curve):
        power = curve[-1].power_kw
    else:
        power = _interpolate(curve[index - 1], curve[index], soc_percent)
    return max(0.0, min(power, state.max_charge_kw))


def _interpolate(low: CurvePoint, high: CurvePoint, soc_percent: float) -> float:
    span = high.soc_percent - low.soc_percent
    if span <= 0:
        return high.power_kw
    share = (soc_percent - low.soc_percent) / span
    return low.power_kw + share * (high.power_kw - low.power_kw)


def charge_time_s(state: VehicleState, from_percent: float, to_percent: float) -> float:
    """Seconds of charging from `from_percent` to `to_percent` (0 when already there)."""
    if to_percent <= from_percent:
        return 0.0
    kwh_per_percent = state.battery_capacity_kwh / 100.0 / state.charge_efficiency
    if not state.charge_curve:
        return (to_percent - from_percent) * kwh_per_percent / state.max_charge_kw * 3600.0
    seconds = 0.0
    soc = from_percent
    while soc < to_percent:
        step = min(_STEP_PERCENT, to_percent - soc)
        power = power_at(state, soc + step / 2)
        if power <= 0:
            return float("inf")
        seconds += step * kwh_per_percent / power * 3600.0
        soc += step
    return seconds


def soc_after_s(state: VehicleState, from_percent: float, seconds: float) -> float:
    """SoC reached after charging `seconds` from `from_percent` (capped at 100 %)."""
    kwh_per_percent = state.battery_capacity_kwh / 100.0 / state.charge_efficiency
    if not state.charge_curve:
        gained = seconds / 3600.0 * state.max_charge_kw / kwh_per_percent
        return min(100.0, from_percent + gained)
    soc, left = from_percent, seconds
    while soc < 100.0 and left > 0:
        step = min(_STEP_PERCENT, 100.0 - soc)
        power = power_at(state, soc + step / 2)
        if power <= 0:
            break
        needed = step * kwh_per_percent / power * 3600.0
        if needed > left:
            return soc + step * left / needed
        soc, left = soc + step, left - needed
    return soc
