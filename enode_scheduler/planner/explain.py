"""Why a schedule looks the way it does, in lines a person can read."""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo

from enode_scheduler.planner.models import Schedule, Window, WindowReason

_WHY = {
    WindowReason.MIN_SOC: "below the minimum SoC: charge at once, whatever the price",
    WindowReason.CHEAPEST: "among the cheapest time before the deadline",
    WindowReason.CANNOT_MAKE_IT: "the target cannot be reached in time: charge until the deadline",
}


def explain(schedule: Schedule) -> Schedule:
    """Return `schedule` with its `explanation`: one line per window, then the money."""
    lines = [_window_line(window) for window in schedule.windows]
    if not schedule.windows:
        lines.append("nothing to charge: the car is at or above its target")
    lines.append(
        f"expected cost {schedule.cost:.4f}; charging at once on plug-in would cost "
        f"{schedule.baseline_cost:.4f}; saving {schedule.saving:.4f}"
    )
    if not schedule.feasible:
        lines.append(f"the car reaches {schedule.soc_at_deadline_percent:.1f} % by the deadline")
    return replace(schedule, explanation=tuple(lines))


def explanation_for(schedule: Schedule, *, tz: tzinfo, currency: str) -> tuple[str, ...]:
    """The explanation for a person: times in `tz` (the plan's zone), money in `currency`.

    Lines the daemon added to the planner's (a target capped by the car's limit) come first.
    """
    added = tuple(line for line in schedule.explanation if line.startswith("target "))
    lines = [*added]
    for window in schedule.windows:
        start, end = window.start.astimezone(tz), window.end.astimezone(tz)
        estimate = " (prices there are estimates)" if window.provisional else ""
        lines.append(
            f"{window.reason.value} {start:%a %Y-%m-%d %H:%M} to {end:%H:%M %Z}: "
            f"{_WHY[window.reason]}{estimate}"
        )
    if not schedule.windows:
        lines.append("nothing to charge: the car is at or above its target")
    lines.append(
        f"expected cost {schedule.cost:.2f} {currency}; charging at once on plug-in would cost "
        f"{schedule.baseline_cost:.2f} {currency}; saving {schedule.saving:.2f} {currency}"
    )
    if not schedule.feasible:
        lines.append(f"the car reaches {schedule.soc_at_deadline_percent:.1f} % by the deadline")
    return tuple(lines)


def _window_line(window: Window) -> str:
    # isoformat is several times faster than strftime, and this runs for every window
    start, end = (
        window.start.isoformat(" ", "seconds")[:19],
        window.end.isoformat(" ", "seconds")[:19],
    )
    span = f"{start}Z to {end}Z"
    estimate = " (prices there are estimates)" if window.provisional else ""
    return f"{window.reason.value} {span}: {_WHY[window.reason]}{estimate}"
