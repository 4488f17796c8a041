"""Checks every intensity source applies: a value is a plausible gram count, a series is ordered."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.models import IntensitySlot

# No grid emits more than about 1,200 g/kWh (lignite); a larger number is a unit or parse error.
MAX_G_PER_KWH = 2000.0


def grams(value: object, *, where: str) -> float:
    """`value` as gCO2/kWh, or PriceFormatError naming `where` and the value."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise PriceFormatError(f"{where}: not a number: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PriceFormatError(f"{where}: intensity must be a finite number, got {value!r}")
    if not 0 <= value <= MAX_G_PER_KWH:
        raise PriceFormatError(f"{where}: intensity {value!r} outside 0..{MAX_G_PER_KWH:g} g/kWh")
    return float(value)


def validate_intensity(slots: Sequence[IntensitySlot], *, source: str) -> list[IntensitySlot]:
    """Sorted, non-overlapping, aware UTC slots of positive length (gaps are allowed)."""
    for slot in slots:
        if slot.start.utcoffset() != timedelta(0) or slot.end.utcoffset() != timedelta(0):
            raise PriceFormatError(f"{source}: slot at {slot.start} is not in UTC")
        if slot.end <= slot.start:
            raise PriceFormatError(f"{source}: slot at {slot.start.isoformat()} has no length")
    for before, after in itertools.pairwise(slots):
        if after.start < before.end:
            raise PriceFormatError(f"{source}: overlap or disorder at {after.start.isoformat()}")
    return list(slots)


def clip_intensity(
    slots: Sequence[IntensitySlot], *, start: datetime, end: datetime
) -> list[IntensitySlot]:
    """The slots that overlap [start, end), whole."""
    return [s for s in slots if s.end > start and s.start < end]
