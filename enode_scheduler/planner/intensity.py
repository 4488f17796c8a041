"""Put carbon intensity on price slots, so that the planner sees one series.

Intensity and prices come from different sources with their own steps (UK: 30 minutes, Electricity
Maps: an hour, prices: 15 or 60 minutes). A price slot is cut where an intensity slot begins or
ends, so every part has one price and one intensity and the placement stays exact. Time without a
known intensity gets an estimate and is provisional, like an unpublished price: the daemon replans
when the forecast arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.planner.timeline import recent_mean


def with_intensity(
    slots: Sequence[Slot], intensities: Sequence[IntensitySlot], *, estimate: float | None
) -> list[Slot]:
    """`slots` carrying `g_co2_per_kwh`, cut at intensity boundaries; both lists sorted.

    Where no intensity is known the part gets `estimate` and is marked provisional; with
    `estimate=None` it keeps no intensity (the contract counts that as 0 g).
    """
    if not intensities:
        return list(slots) if estimate is None else [_estimated(s, estimate) for s in slots]
    out: list[Slot] = []
    first = 0
    for slot in slots:
        while first < len(intensities) and intensities[first].end <= slot.start:
            first += 1
        out.extend(_cut(slot, intensities, first, estimate))
    return out


def _cut(
    slot: Slot, intensities: Sequence[IntensitySlot], index: int, estimate: float | None
) -> list[Slot]:
    parts: list[Slot] = []
    cursor = slot.start
    while cursor < slot.end:
        known = intensities[index] if index < len(intensities) else None
        if known is not None and known.start <= cursor:
            end = min(slot.end, known.end)
            parts.append(replace(slot, start=cursor, end=end, g_co2_per_kwh=known.g_co2_per_kwh))
            index += 1 if known.end <= end else 0
        else:
            end = slot.end if known is None else min(slot.end, known.start)
            part = replace(slot, start=cursor, end=end)
            parts.append(part if estimate is None else _estimated(part, estimate))
        cursor = end
    return parts


def _estimated(slot: Slot, estimate: float) -> Slot:
    return replace(slot, g_co2_per_kwh=estimate, provisional=True)


def mean_intensity(intensities: Sequence[IntensitySlot]) -> float | None:
    """The time-weighted mean of the last day of `intensities`: what unknown time is assumed."""
    if not intensities:
        return None
    values = [item.g_co2_per_kwh for item in intensities]
    return recent_mean(intensities, values, timedelta(hours=24))
