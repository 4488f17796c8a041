"""How a plan went, and how it is going: pure functions over a plan, a schedule and a reading.

The daemon records an outcome when a deadline passes; `plans list`, the schedule API and the web
page show it. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import (
    MET_TOLERANCE_PERCENT,
    PlanOutcome,
    PlanRecord,
    VehicleReading,
    outcome_kind,
)

__all__ = [
    "MET_TOLERANCE_PERCENT",
    "Outlook",
    "capped_by_limit",
    "effective_target",
    "outlook",
    "plan_outcome",
]


def effective_target(plan: PlanRecord, reading: VehicleReading | None) -> float:
    """The target the car can reach: the plan's, or the car's own lower charge limit."""
    limit = reading.charge_limit_percent if reading is not None else None
    if limit is not None and 0 < limit < plan.target_soc_percent:
        return limit
    return plan.target_soc_percent


def capped_by_limit(plan: PlanRecord, reading: VehicleReading | None) -> float | None:
    """The car's charge limit when it lies below the plan's target, else None."""
    target = effective_target(plan, reading)
    return target if target < plan.target_soc_percent else None


def plan_outcome(
    plan: PlanRecord,
    *,
    deadline: datetime,
    reading: VehicleReading | None,
    schedule: Schedule | None,
    at: datetime,
) -> PlanOutcome:
    """The outcome of `plan` at `deadline`, from the car's reading at (or just after) it and the
    last schedule made for that deadline."""
    soc = reading.soc_percent if reading is not None else None
    limit = reading.charge_limit_percent if reading is not None else None
    target = plan.target_soc_percent
    kind = outcome_kind(
        target_percent=target,
        soc_percent=soc,
        limit_percent=limit,
        feasible=schedule.feasible if schedule is not None else None,
    )
    return PlanOutcome(
        vehicle_id=plan.vehicle_id,
        deadline=deadline,
        kind=kind,
        target_soc_percent=target,
        soc_percent=soc,
        limit_percent=limit,
        recorded_at=at,
    )


@dataclass(frozen=True, slots=True)
class Outlook:
    """How the current schedule is going: the next window and the SoC expected at the deadline."""

    next_window_start: datetime | None
    next_window_end: datetime | None
    expected_soc_percent: float | None
    feasible: bool | None
    capped_at_percent: float | None

    def warning(self) -> str | None:
        """The one thing a person should hear about, or None."""
        if self.capped_at_percent is not None:
            return f"capped by the car's limit at {self.capped_at_percent:g} %"
        if self.feasible is False:
            expected = self.expected_soc_percent
            reach = "" if expected is None else f": expect {expected:.0f} % at the deadline"
            return "infeasible" + reach
        return None


def outlook(
    plan: PlanRecord,
    *,
    schedule: Schedule | None,
    reading: VehicleReading | None,
    now: datetime,
) -> Outlook:
    """The plan's current outlook from its latest schedule (computed for the next deadline)."""
    ahead = [w for w in schedule.windows if w.end > now] if schedule is not None else []
    window = min(ahead, key=lambda w: w.start, default=None)
    return Outlook(
        next_window_start=window.start if window else None,
        next_window_end=window.end if window else None,
        expected_soc_percent=schedule.soc_at_deadline_percent if schedule else None,
        feasible=schedule.feasible if schedule else None,
        capped_at_percent=capped_by_limit(plan, reading),
    )
