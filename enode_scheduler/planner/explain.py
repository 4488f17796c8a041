"""Why a schedule looks the way it does, in lines a person can read."""

from __future__ import annotations

from dataclasses import replace

from enode_scheduler.planner.models import Goal, Schedule, Window, WindowReason

_WHY = {
    WindowReason.MIN_SOC: "below the minimum SoC: charge at once, whatever the price",
    WindowReason.CHEAPEST: "among the cheapest time before the deadline",
    WindowReason.CANNOT_MAKE_IT: "the target cannot be reached in time: charge until the deadline",
}


def explain(schedule: Schedule, goal: Goal | None = None) -> Schedule:
    """Return `schedule` with its `explanation`: one line per window, then the money (and CO2).

    With a `goal` that weighs CO2, the windows say what "cheapest" meant.
    """
    weighing = _weighing(goal) if goal is not None else ""
    lines = [_window_line(window, weighing) for window in schedule.windows]
    if not schedule.windows:
        lines.append("nothing to charge: the car is at or above its target")
    lines.append(
        f"expected cost {schedule.cost:.4f}; charging at once on plug-in would cost "
        f"{schedule.baseline_cost:.4f}; saving {schedule.saving:.4f}"
    )
    if schedule.co2_kg or schedule.baseline_co2_kg:
        lines.append(
            f"expected emissions {schedule.co2_kg:.3f} kg CO2; charging at once "
            f"{schedule.baseline_co2_kg:.3f} kg; saving {schedule.co2_saving_kg:.3f} kg"
        )
    if not schedule.feasible:
        lines.append(f"the car reaches {schedule.soc_at_deadline_percent:.1f} % by the deadline")
    return replace(schedule, explanation=tuple(lines))


def _weighing(goal: Goal) -> str:
    if goal.minimise_co2:
        return " (least CO2 first, then price)"
    if goal.co2_price_per_kg > 0:
        return f" (price plus {goal.co2_price_per_kg:g} per kg CO2)"
    return ""


def _window_line(window: Window, weighing: str = "") -> str:
    # isoformat is several times faster than strftime, and this runs for every window
    start, end = (
        window.start.isoformat(" ", "seconds")[:19],
        window.end.isoformat(" ", "seconds")[:19],
    )
    span = f"{start}Z to {end}Z"
    estimate = " (prices there are estimates)" if window.provisional else ""
    why = _WHY[window.reason] + (weighing if window.reason is WindowReason.CHEAPEST else "")
    return f"{window.reason.value} {span}: {why}{estimate}"
