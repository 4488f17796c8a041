"""Why a schedule looks the way it does, in lines a person can read."""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo

from enode_scheduler.planner.models import Goal, Schedule, Window, WindowReason

_WHY = {
    WindowReason.MIN_SOC: "below the minimum SoC: charge at once, whatever the price",
    WindowReason.CHEAPEST: "among the cheapest time before the deadline",
    WindowReason.CANNOT_MAKE_IT: "the target cannot be reached in time: charge until the deadline",
}
_ESTIMATE = " (prices there are estimates)"
# The lines `explain` writes, which `explanation_for` writes again for a person.
_REWRITTEN = (
    *(f"{reason.value} " for reason in WindowReason),
    "nothing to charge",
    "expected cost ",
    "expected emissions ",
    "the car reaches ",
)


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
    lines.extend(_co2_lines(schedule))
    if not schedule.feasible:
        lines.append(f"the car reaches {schedule.soc_at_deadline_percent:.1f} % by the deadline")
    return replace(schedule, explanation=tuple(lines))


def _co2_lines(schedule: Schedule) -> list[str]:
    if not (schedule.co2_kg or schedule.baseline_co2_kg):
        return []
    return [
        f"expected emissions {schedule.co2_kg:.3f} kg CO2; charging at once "
        f"{schedule.baseline_co2_kg:.3f} kg; saving {schedule.co2_saving_kg:.3f} kg"
    ]


def explanation_for(schedule: Schedule, *, tz: tzinfo, currency: str) -> tuple[str, ...]:
    """The explanation for a person: times in `tz` (the plan's zone), money in `currency`.

    Lines this does not write again (the daemon's own, such as a target capped by the car's
    limit) come first, as they were.
    """
    lines = [line for line in schedule.explanation if not line.startswith(_REWRITTEN)]
    weighing = _weighing_in(schedule.explanation)
    for window in schedule.windows:
        start, end = window.start.astimezone(tz), window.end.astimezone(tz)
        estimate = _ESTIMATE if window.provisional else ""
        why = _WHY[window.reason] + (weighing if window.reason is WindowReason.CHEAPEST else "")
        lines.append(
            f"{window.reason.value} {start:%a %Y-%m-%d %H:%M} to {end:%H:%M %Z}: {why}{estimate}"
        )
    if not schedule.windows:
        lines.append("nothing to charge: the car is at or above its target")
    lines.append(
        f"expected cost {schedule.cost:.2f} {currency}; charging at once on plug-in would cost "
        f"{schedule.baseline_cost:.2f} {currency}; saving {schedule.saving:.2f} {currency}"
    )
    lines.extend(_co2_lines(schedule))
    if not schedule.feasible:
        lines.append(f"the car reaches {schedule.soc_at_deadline_percent:.1f} % by the deadline")
    return tuple(lines)


def _weighing_in(explanation: tuple[str, ...]) -> str:
    """What "cheapest" meant, as the planner wrote it (the goal is not stored with a schedule)."""
    for line in explanation:
        _, found, rest = line.partition(_WHY[WindowReason.CHEAPEST])
        if found:
            return rest.removesuffix(_ESTIMATE)
    return ""


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
    estimate = _ESTIMATE if window.provisional else ""
    why = _WHY[window.reason] + (weighing if window.reason is WindowReason.CHEAPEST else "")
    return f"{window.reason.value} {span}: {why}{estimate}"
