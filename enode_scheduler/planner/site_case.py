"""The plan-site contract (site-case.md): a site case in JSON, the joint plan out.

Each car reads like a plan-case vehicle and goal; parsing is as strict and names the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.case import (
    _bool,
    _field,
    _iso,
    _mapping,
    _number,
    _slots,
    _time,
)
from enode_scheduler.planner.models import Goal, Slot, VehicleState
from enode_scheduler.planner.optimize import merge
from enode_scheduler.planner.site_models import SiteCar, SitePlan
from enode_scheduler.planner.timeline import build_timeline

SiteCase = tuple[list[SiteCar], float, list[Slot], datetime]


def parse_site_case(obj: object) -> SiteCase:
    """Read one site case into (cars, max_kw, slots, now); validates the contract."""
    case = _mapping(obj, "case")
    now = _time(case, "now", "now")
    site = _mapping(_field(case, "site", "site"), "site")
    max_kw = _number(site, "max_kw", "site")
    if max_kw <= 0:
        raise InvalidCase(f"site.max_kw must be > 0, got {max_kw!r}")
    vehicles = _field(case, "vehicles", "vehicles")
    if not isinstance(vehicles, list) or not vehicles:
        raise InvalidCase("vehicles must be a non-empty array")
    cars = [_car(item, f"vehicles[{index}]") for index, item in enumerate(vehicles)]
    slots = _slots(_field(case, "prices", "prices"))
    last_deadline = max(car.goal.deadline for car in cars)
    if last_deadline <= now:
        raise InvalidCase("every goal.deadline must be after now")
    build_timeline(slots, now=now, deadline=last_deadline, tail_price=None)
    return cars, max_kw, slots, now


def _car(value: object, where: str) -> SiteCar:
    vehicle = _mapping(value, where)
    identity = _field(vehicle, "id", f"{where}.id")
    if not isinstance(identity, str) or not identity:
        raise InvalidCase(f"{where}.id must be a non-empty string, got {identity!r}")
    goal = _mapping(_field(vehicle, "goal", f"{where}.goal"), f"{where}.goal")
    return SiteCar(
        id=identity,
        state=VehicleState(
            battery_capacity_kwh=_number(vehicle, "battery_capacity_kwh", where),
            soc_percent=_number(vehicle, "soc_percent", where),
            max_charge_kw=_number(vehicle, "max_charge_kw", where),
            charge_efficiency=_number(vehicle, "charge_efficiency", where, default=0.9),
            charging_now=_bool(vehicle, "charging_now", where),
        ),
        goal=Goal(
            target_soc_percent=_number(goal, "target_soc_percent", f"{where}.goal"),
            deadline=_time(goal, "deadline", f"{where}.goal.deadline"),
            min_soc_percent=_number(goal, "min_soc_percent", f"{where}.goal", default=0.0),
            start_penalty=_number(goal, "start_penalty", f"{where}.goal", default=0.0),
        ),
    )


def site_result_to_json(plan: SitePlan) -> dict[str, Any]:
    """The contract's result object; adjacent windows joined, times rounded to the second."""
    result: dict[str, Any] = {
        "vehicles": [
            {
                "id": car.id,
                "feasible": car.feasible,
                "windows": _windows(car.windows),
                "grid_energy_kwh": round(car.grid_energy_kwh, 6),
                "cost": round(car.cost, 6),
                "starts": car.starts,
                "soc_at_deadline_percent": round(car.soc_at_deadline_percent, 4),
            }
            for car in plan.cars
        ],
        "cost": round(plan.cost, 6),
        "peak_kw": round(plan.peak_kw, 6),
    }
    if plan.gap > 0:
        # Only with start penalties: how far the plan can be from the true optimum.
        result["gap"] = round(plan.gap, 6)
    return result


def _windows(windows: Any) -> list[dict[str, str]]:
    spans = merge([(w.start.timestamp(), w.end.timestamp()) for w in windows])
    out = [{"start": _iso(start), "end": _iso(end)} for start, end in spans]
    return [w for w in out if w["start"] != w["end"]]
