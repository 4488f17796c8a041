"""Turn what a source delivered into the series the PriceSource port promises.

A valid series is sorted, gap-free, in aware UTC, and every slot lasts 15 or 60 minutes; a day may
mix both (the 2025 switch to a 15-minute market time unit). A slot whose price cannot be true
(NaN, infinite, or outside -10,000..100,000 per MWh) is dropped with a log line: one bad row
leaves a hole (the planner prices holes at its estimate), it never fails the whole fetch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished
from enode_scheduler.planner.models import Slot

QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
ALLOWED_STEPS = (QUARTER, HOUR)
# Day-ahead prices have stayed within the markets' own limits (about -500 and 4,000 per MWh)
# with a wide margin to spare: outside these a number is a fault, not a price.
MIN_PRICE_PER_KWH = -10.0  # -10,000 per MWh
MAX_PRICE_PER_KWH = 100.0  # 100,000 per MWh

log = structlog.get_logger()


def price_problem(price: object) -> str | None:
    """Why `price` (per kWh) cannot be a real price, or None when it can."""
    if isinstance(price, bool) or not isinstance(price, int | float):
        return "not a number"
    if not math.isfinite(price):
        return "not finite"
    if not MIN_PRICE_PER_KWH <= price <= MAX_PRICE_PER_KWH:
        return "outside -10,000..100,000 per MWh"
    return None


def drop_bad_prices(slots: Sequence[Slot], *, source: str) -> list[Slot]:
    """The slots with a believable price; one warning per dropped slot, naming it."""
    kept: list[Slot] = []
    for slot in slots:
        problem = price_problem(slot.price_per_kwh)
        if problem is None:
            kept.append(slot)
            continue
        log.warning(
            "price_rejected", source=source, slot_start=slot.start.isoformat(),
            price_per_kwh=repr(slot.price_per_kwh), reason=problem,
        )  # fmt: skip
    return kept


def validate_series(slots: Sequence[Slot], *, source: str) -> list[Slot]:
    """Check the port's promises; raise PriceFormatError naming the first offending slot.

    The times must hold for the whole series; a bad price only costs its own slot (see
    `drop_bad_prices`)."""
    for slot in slots:
        if slot.start.utcoffset() != timedelta(0) or slot.end.utcoffset() != timedelta(0):
            raise PriceFormatError(f"{source}: slot at {slot.start} is not in UTC")
        if slot.end - slot.start not in ALLOWED_STEPS:
            raise PriceFormatError(
                f"{source}: slot at {slot.start.isoformat()} lasts {slot.end - slot.start}, "
                "expected 15 or 60 minutes"
            )
    for before, after in itertools.pairwise(slots):
        if after.start != before.end:
            kind = "gap" if after.start > before.end else "overlap or disorder"
            raise PriceFormatError(
                f"{source}: {kind} between {before.end.isoformat()} and {after.start.isoformat()}"
            )
    return drop_bad_prices(slots, source=source)


def merge_series(series: Iterable[Sequence[Slot]]) -> list[Slot]:
    """Combine possibly overlapping series, the finer resolution winning where they overlap.

    An hour partly covered by quarters is split so that its uncovered quarters keep its price.
    """
    pieces = sorted(
        (slot for one in series for slot in one), key=lambda s: (s.end - s.start, s.start)
    )
    covered: set[datetime] = set()
    kept: list[Slot] = []
    for slot in pieces:
        quarters = _quarters(slot)
        if not any(q in covered for q in quarters):
            kept.append(slot)
        else:
            kept.extend(
                Slot(q, q + QUARTER, slot.price_per_kwh, slot.provisional)
                for q in quarters
                if q not in covered
            )
        covered.update(quarters)
    return sorted(kept, key=lambda s: s.start)


def clip(slots: Sequence[Slot], *, start: datetime, end: datetime) -> list[Slot]:
    """The slots that overlap [start, end), whole (a slot is never cut)."""
    return [s for s in slots if s.end > start and s.start < end]


def require_some(slots: list[Slot], *, source: str, start: datetime, end: datetime) -> list[Slot]:
    """Raise PricesNotPublished when a source had nothing for [start, end)."""
    if not slots:
        raise PricesNotPublished(
            f"{source}: no prices for {start.isoformat()} .. {end.isoformat()} yet"
        )
    return slots


def parse_time(value: object, where: str) -> datetime:
    """An ISO-8601 time with a zone (`Z` allowed) in UTC, or PriceFormatError naming `where`."""
    if not isinstance(value, str):
        raise PriceFormatError(f"{where}: missing time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PriceFormatError(f"{where}: not an ISO-8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise PriceFormatError(f"{where}: time without a zone: {value!r}")
    return moment.astimezone(UTC)


def as_utc(when: datetime) -> datetime:
    """`when` in UTC; naive datetimes are refused because their meaning is a guess."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}; pass an aware one")
    return when.astimezone(UTC)


def _quarters(slot: Slot) -> list[datetime]:
    count = max(1, int((slot.end - slot.start) / QUARTER))
    return [slot.start + QUARTER * i for i in range(count)]
