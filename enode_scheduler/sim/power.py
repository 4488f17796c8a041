"""The load the simulated cars put on each charging location, over sim time.

Every car keeps the spans it charged (`SimVehicle.charged`), so a test or an outside check can ask
afterwards whether a site's cap held: the highest summed power at a location and how long it was
above a threshold. Spans end where they start: a car that stops as another starts at the same
instant is a hand-over, not an overlap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# Sums within this of the threshold count as at it, not above (float noise of kW sums).
_KW_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class ChargeSpan:
    """One stretch of charging at a constant power at one place."""

    start: datetime
    end: datetime
    power_kw: float
    location_id: str | None


def extend(spans: list[ChargeSpan], span: ChargeSpan) -> None:
    """Append `span`, merged into the last one when it simply continues it (lazy integration
    cuts a charge into as many pieces as there were reads)."""
    if span.end <= span.start:
        return
    if spans:
        last = spans[-1]
        same = (last.power_kw, last.location_id) == (span.power_kw, span.location_id)
        if same and last.end == span.start:
            spans[-1] = ChargeSpan(last.start, span.end, last.power_kw, last.location_id)
            return
    spans.append(span)


def location_load(spans: Iterable[ChargeSpan], *, above_kw: float) -> tuple[float, float]:
    """(peak kW, seconds the summed power was above `above_kw`) over the given spans."""
    events: list[tuple[datetime, float]] = []
    for span in spans:
        events.append((span.start, span.power_kw))
        events.append((span.end, -span.power_kw))
    # At one instant, ends before starts.
    events.sort(key=lambda event: (event[0], event[1]))
    level = peak = seconds_above = 0.0
    previous: datetime | None = None
    for moment, change in events:
        if previous is not None and level > above_kw + _KW_EPS:
            seconds_above += (moment - previous).total_seconds()
        level += change
        peak = max(peak, level)
        previous = moment
    return round(peak, 6), seconds_above
