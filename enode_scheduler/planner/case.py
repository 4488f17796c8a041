"""The plan-case contract (../shared/contracts/planner-case.md): JSON in, JSON out.

Parsing is strict: every problem raises `InvalidCase` with one line naming the field and value.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.models import Goal, Schedule, Slot, VehicleState
from enode_scheduler.planner.optimize import merge
from enode_scheduler.planner.planning import check_inputs
from enode_scheduler.planner.timeline import build_timeline

Case = tuple[VehicleState, Goal, list[Slot], datetime]


def parse_case(obj: object) -> Case:
    """Read one case object into (vehicle state, goal, slots, now); validates the contract."""
    case = _mapping(obj, "case")
    now = _time(case, "now", "now")
    vehicle = _mapping(_field(case, "vehicle", "vehicle"), "vehicle")
    goal_obj = _mapping(_field(case, "goal", "goal"), "goal")
    state = VehicleState(
        battery_capacity_kwh=_number(vehicle, "battery_capacity_kwh", "vehicle"),
        soc_percent=_number(vehicle, "soc_percent", "vehicle"),
        max_charge_kw=_number(vehicle, "max_charge_kw", "vehicle"),
        charge_efficiency=_number(vehicle, "charge_efficiency", "vehicle"),
        charging_now=_bool(vehicle, "charging_now", "vehicle"),
    )
    goal = Goal(
        target_soc_percent=_number(goal_obj, "target_soc_percent", "goal"),
        deadline=_time(goal_obj, "deadline", "goal.deadline"),
        min_soc_percent=_number(goal_obj, "min_soc_percent", "goal", default=0.0),
        start_penalty=_number(goal_obj, "start_penalty", "goal", default=0.0),
        co2_price_per_kg=_number(goal_obj, "co2_price_per_kg", "goal", default=0.0),
    )
    slots = _slots(_field(case, "prices", "prices"))
    check_inputs(state, goal, now=now)
    build_timeline(slots, now=now, deadline=goal.deadline, tail_price=None)
    return state, goal, slots, now


def uses_co2(case: object) -> bool:
    """Whether a (parsed) case carries the contract's optional CO2 fields."""
    if not isinstance(case, dict):
        return False
    goal, prices = case.get("goal"), case.get("prices")
    priced = isinstance(goal, dict) and "co2_price_per_kg" in goal
    return priced or (
        isinstance(prices, list)
        and any(isinstance(s, dict) and "g_co2_per_kwh" in s for s in prices)
    )


def result_to_json(schedule: Schedule, *, with_co2: bool = False) -> dict[str, Any]:
    """The contract's result object; adjacent windows are joined, times rounded to the second.

    `with_co2` adds `co2_kg` (the contract's optional CO2 section).
    """
    spans = merge([(w.start.timestamp(), w.end.timestamp()) for w in schedule.windows])
    windows = [{"start": _iso(start), "end": _iso(end)} for start, end in spans]
    result = {
        "feasible": schedule.feasible,
        "windows": [w for w in windows if w["start"] != w["end"]],
        "grid_energy_kwh": round(schedule.grid_energy_kwh, 6),
        "cost": round(schedule.cost, 6),
        "starts": schedule.starts,
        "soc_at_deadline_percent": round(schedule.soc_at_deadline_percent, 4),
    }
    if with_co2:
        result["co2_kg"] = round(schedule.co2_kg, 6)
    return result


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(round(timestamp), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _slots(value: object) -> list[Slot]:
    if not isinstance(value, list) or not value:
        raise InvalidCase("prices must be a non-empty array of slots")
    slots = []
    for index, item in enumerate(value):
        where = f"prices[{index}]"
        slot = _mapping(item, where)
        slots.append(
            Slot(
                start=_time(slot, "start", f"{where}.start"),
                end=_time(slot, "end", f"{where}.end"),
                price_per_kwh=_number(slot, "price_per_kwh", where),
                g_co2_per_kwh=_intensity(slot, where),
            )
        )
    return slots


def _intensity(slot: dict[str, Any], where: str) -> float | None:
    if "g_co2_per_kwh" not in slot:
        return None
    grams = _number(slot, "g_co2_per_kwh", where)
    if grams < 0:
        raise InvalidCase(f"{where}.g_co2_per_kwh must be >= 0, got {grams!r}")
    return grams


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidCase(f"{where} must be a JSON object")
    return value


def _field(obj: dict[str, Any], key: str, where: str) -> object:
    if key not in obj:
        raise InvalidCase(f"missing field {where}")
    return obj[key]


def _number(obj: dict[str, Any], key: str, where: str, *, default: float | None = None) -> float:
    if key not in obj and default is not None:
        return default
    value = _field(obj, key, f"{where}.{key}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidCase(f"{where}.{key} must be a finite number, got {value!r}")
    return float(value)


def _bool(obj: dict[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise InvalidCase(f"{where}.{key} must be true or false, got {value!r}")
    return value


def _time(obj: dict[str, Any], key: str, where: str) -> datetime:
    value = _field(obj, key, where)
    if not isinstance(value, str):
        raise InvalidCase(f"{where} must be an ISO-8601 string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidCase(f"{where} is not an ISO-8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise InvalidCase(f"{where} has no time zone: {value!r}")
    return moment.astimezone(UTC)
