"""Value types the planner reads and returns. All datetimes are aware and in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Slot:
    """A price interval [start, end) in currency per kWh drawn from the grid."""

    start: datetime
    end: datetime
    price_per_kwh: float
    # True when the price (or the intensity) is an estimate for a period not published yet.
    provisional: bool = False
    # Grid carbon intensity in gCO2eq per kWh drawn; None: unknown (counts as 0 g).
    g_co2_per_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class IntensitySlot:
    """Grid carbon intensity over [start, end) in gCO2eq per kWh drawn (a forecast or actual)."""

    start: datetime
    end: datetime
    g_co2_per_kwh: float


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Charging power the car accepts at a state of charge; the curve interpolates linearly."""

    soc_percent: float
    power_kw: float


@dataclass(frozen=True, slots=True)
class VehicleState:
    """What the planner needs to know about a car right now."""

    battery_capacity_kwh: float
    soc_percent: float
    max_charge_kw: float
    charge_efficiency: float = 0.9
    charging_now: bool = False
    # Empty means constant `max_charge_kw` (the contract's model).
    charge_curve: tuple[CurvePoint, ...] = ()


@dataclass(frozen=True, slots=True)
class Goal:
    """Reach `target_soc_percent` by `deadline` (finishing `deadline_margin_s` early)."""

    target_soc_percent: float
    deadline: datetime
    min_soc_percent: float = 0.0
    start_penalty: float = 0.0
    deadline_margin_s: float = 0.0
    # Money per kg CO2: the objective becomes energy cost + co2_price_per_kg * kg CO2.
    co2_price_per_kg: float = 0.0
    # Least CO2 first, money (energy cost + start penalties) only breaks ties; see docs/planner.md.
    minimise_co2: bool = False

    @property
    def weighs_co2(self) -> bool:
        return self.minimise_co2 or self.co2_price_per_kg > 0


class WindowReason(StrEnum):
    """Why a window is in the schedule."""

    CHEAPEST = "cheapest_slot"
    MIN_SOC = "min_soc_floor"
    CANNOT_MAKE_IT = "cannot_make_it"


@dataclass(frozen=True, slots=True)
class Window:
    """A charging interval [start, end)."""

    start: datetime
    end: datetime
    reason: WindowReason = WindowReason.CHEAPEST
    # True when it lies (partly) in slots whose price is only estimated.
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class Schedule:
    """The planner's answer: when to charge, and what it will cost and achieve."""

    feasible: bool
    windows: tuple[Window, ...]
    grid_energy_kwh: float
    cost: float
    starts: int
    soc_at_deadline_percent: float
    # Cost of charging the same energy at once from `now`, the baseline for the saving.
    baseline_cost: float = 0.0
    explanation: tuple[str, ...] = field(default=())
    # Emissions of the windows and of the baseline, kg CO2eq (0 when no slot has an intensity).
    co2_kg: float = 0.0
    baseline_co2_kg: float = 0.0

    @property
    def saving(self) -> float:
        return self.baseline_cost - self.cost

    @property
    def co2_saving_kg(self) -> float:
        return self.baseline_co2_kg - self.co2_kg

    def charging_at(self, when: datetime) -> bool:
        """Whether the schedule wants the car charging at `when`."""
        return any(w.start <= when < w.end for w in self.windows)

    def next_boundary(self, after: datetime) -> datetime | None:
        """The first window start or end strictly after `after`."""
        later = [t for w in self.windows for t in (w.start, w.end) if t > after]
        return min(later, default=None)
