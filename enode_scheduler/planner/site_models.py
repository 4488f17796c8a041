"""Value types of the joint site planner: several cars behind one connection capped at `max_kw`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from enode_scheduler.planner.models import Goal, VehicleState, Window


@dataclass(frozen=True, slots=True)
class SiteCar:
    """One car plugged in at the site, with its own goal."""

    id: str
    state: VehicleState
    goal: Goal


@dataclass(frozen=True, slots=True)
class CarPlan:
    """One car's part of a site plan."""

    id: str
    feasible: bool
    windows: tuple[Window, ...]
    grid_energy_kwh: float
    needed_kwh: float
    cost: float
    starts: int
    soc_at_deadline_percent: float

    @property
    def shortfall_kwh(self) -> float:
        return max(0.0, self.needed_kwh - self.grid_energy_kwh)


@dataclass(frozen=True, slots=True)
class SitePlan:
    """The joint answer: per-car plans whose charging powers never sum above the cap.

    `lower_bound` is a proven lower bound of the objective (energy cost plus start penalties) over
    every plan with the least shortfall; `objective - lower_bound` is the gap, zero without
    start penalties (the configuration LP is then solved exactly).
    """

    cars: tuple[CarPlan, ...]
    cost: float
    peak_kw: float
    objective: float
    lower_bound: float
    now: datetime

    @property
    def gap(self) -> float:
        return max(0.0, self.objective - self.lower_bound)

    @property
    def shortfall_kwh(self) -> float:
        return sum(car.shortfall_kwh for car in self.cars)
