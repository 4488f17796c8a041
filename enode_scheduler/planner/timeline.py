"""Turn price slots into the priced pieces of one planning horizon, checking coverage."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from operator import attrgetter, mul, sub
from typing import NamedTuple

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.planner.pieces import Piece

_US = timedelta(microseconds=1)
_ZERO = timedelta(0)
_new_piece = tuple.__new__
_START, _END = attrgetter("start"), attrgetter("end")
_PRICE, _PROVISIONAL = attrgetter("price_per_kwh"), attrgetter("provisional")
_CO2 = attrgetter("g_co2_per_kwh")


@dataclass(frozen=True, slots=True)
class Timeline:
    """Pieces of the horizon in µs from `origin` as parallel lists (piece objects cost time on
    the hot path); `provisional[i]` marks estimated prices; `intensities[i]` is gCO2/kWh (empty
    when no slot carries one)."""

    origin: datetime
    starts_us: Sequence[int]
    ends_us: Sequence[int]
    prices: Sequence[float]
    provisional: Sequence[bool]
    # read once: is_provisional runs for every window
    any_provisional: bool = True
    intensities: Sequence[float] = ()

    @property
    def pieces(self) -> tuple[Piece, ...]:
        # built on demand: only the start-penalty programme needs piece objects
        fields = zip(self.starts_us, self.ends_us, self.prices, strict=True)
        return tuple(map(_new_piece, repeat(Piece), fields))

    def at(self, offset_us: float) -> datetime:
        return self.origin + timedelta(microseconds=round(offset_us))

    def cost_per_kw(self, start_us: float, end_us: float) -> float:
        """Sum of price * hours over [start_us, end_us): the cost of 1 kW drawn in it."""
        return self._integral(self.prices, start_us, end_us)

    def co2_g_per_kw(self, start_us: float, end_us: float) -> float:
        """Sum of gCO2/kWh * hours over [start_us, end_us): the grams of 1 kW drawn in it."""
        if not self.intensities:
            return 0.0
        return self._integral(self.intensities, start_us, end_us)

    def _integral(self, prices: Sequence[float], start_us: float, end_us: float) -> float:
        first = self._first_after(start_us)
        last = min(self._first_after(end_us), len(prices) - 1)
        if first > last:
            return 0.0
        # whole pieces in C; then take off what lies outside [start_us, end_us) at the two ends
        starts, ends = self.starts_us, self.ends_us
        lengths = map(sub, ends[first : last + 1], starts[first : last + 1])
        total = sum(map(mul, prices[first : last + 1], lengths))
        total -= prices[first] * max(0.0, start_us - starts[first])
        total -= prices[last] * max(0.0, ends[last] - end_us)
        return float(total) / 3.6e9

    def is_provisional(self, start_us: float, end_us: float) -> bool:
        if not self.any_provisional:
            return False
        return any(
            flag and low < end_us and start_us < high
            for low, high, flag in zip(self.starts_us, self.ends_us, self.provisional, strict=True)
        )

    def _first_after(self, moment_us: float) -> int:
        """Index of the first piece that ends after `moment_us`."""
        return bisect_right(self.ends_us, moment_us)

    def clipped(self, start_us: int) -> tuple[Piece, ...]:
        """The pieces from `start_us` on, the first one cut at `start_us`."""
        starts, ends, prices = self.clipped_arrays(start_us)
        return tuple(map(_new_piece, repeat(Piece), zip(starts, ends, prices, strict=True)))

    def clipped_arrays(self, start_us: int) -> tuple[list[int], list[int], list[float]]:
        """(starts, ends, prices) of the pieces from `start_us` on, the first cut there."""
        first = self._first_after(start_us) if start_us > 0 else 0
        starts, ends = list(self.starts_us[first:]), list(self.ends_us[first:])
        # the caller gets its own lists: the timeline stays as built
        if starts:
            starts[0] = max(starts[0], start_us)
        return starts, ends, list(self.prices[first:])


def build_timeline(
    slots: Sequence[Slot],
    *,
    now: datetime,
    deadline: datetime,
    tail_price: float | None,
    tail_g_co2_per_kwh: float = 0.0,
) -> Timeline:
    """Clip `slots` to [now, deadline]; fill what they miss at `tail_price`, or refuse.

    Without `tail_price`, slots must be contiguous over [now, deadline] (the contract); with it,
    any part of the horizon without a slot is priced at `tail_price` (and `tail_g_co2_per_kwh`)
    and marked provisional.
    """
    # one pass of each kind over the slots, shared by the checks and the common case
    starts, ends = list(map(_START, slots)), list(map(_END, slots))
    lengths = list(map(datetime.__sub__, ends, starts))
    contiguous = _check_slots(slots, _Columns(starts, ends, lengths), strict=tail_price is None)
    if contiguous and slots and starts[0] <= now and ends[-1] >= deadline:
        return _covered(slots, _Columns(starts, ends, lengths), now, deadline)
    pieces: list[Piece] = []
    flags: list[bool] = []
    grams: list[float | None] = []
    tail = _Tail(tail_price, tail_g_co2_per_kwh)
    cursor = now
    cursor_us = 0
    for slot in slots:
        if slot.end <= cursor:
            continue
        if slot.start >= deadline:
            break
        if slot.start > cursor:
            _fill(pieces, flags, grams, now, cursor, slot.start, tail)
            cursor_us = pieces[-1].end_us
        cursor = slot.end if slot.end < deadline else deadline
        end_us = (cursor - now) // _US
        pieces.append(_new_piece(Piece, (cursor_us, end_us, slot.price_per_kwh)))
        flags.append(slot.provisional)
        grams.append(slot.g_co2_per_kwh)
        cursor_us = end_us
    if cursor < deadline:
        _fill(pieces, flags, grams, now, cursor, deadline, tail)
    if not pieces:
        return Timeline(now, (), (), (), (), any_provisional=False)
    starts, ends = [p.start_us for p in pieces], [p.end_us for p in pieces]
    prices = [p.price_per_kwh for p in pieces]
    return Timeline(
        now, starts, ends, prices, flags, any_provisional=True in flags,
        intensities=_intensities(grams, tail_g_co2_per_kwh > 0),
    )  # fmt: skip


class _Tail(NamedTuple):
    """What the horizon beyond the known slots is assumed to cost (None: refuse a gap)."""

    price: float | None
    g_co2_per_kwh: float


def _intensities(grams: Sequence[float | None], tail_has_co2: bool) -> list[float]:
    """Grams per kWh per piece, an unknown one as 0; empty when no piece knows one."""
    if not tail_has_co2 and grams.count(None) == len(grams):
        return []
    return [0.0 if g is None else g for g in grams]


class _Columns(NamedTuple):
    """Starts, ends and lengths of the slots, read once."""

    starts: list[datetime]
    ends: list[datetime]
    lengths: list[timedelta]


def _covered(
    slots: Sequence[Slot], columns: _Columns, now: datetime, deadline: datetime
) -> Timeline:
    """The common case, in bulk: contiguous slots that cover [now, deadline].

    Converting a datetime to an integer offset costs about a microsecond, the largest single cost
    of a plan without a penalty. Slots of one length (the usual 15 or 60 minutes) need only one
    conversion: their ends are an arithmetic progression. Subtracting datetimes and comparing
    timedeltas stays in C and is several times cheaper than the conversion.
    """
    first = bisect_right(columns.ends, now)
    last = bisect_left(columns.starts, deadline)
    inside, ends, lengths = slots[first:last], columns.ends[first:last], columns.lengths[first:last]
    if lengths.count(lengths[0]) == len(lengths):
        step = lengths[0] // _US
        offset = (ends[0] - now) // _US
        offsets = list(range(offset, offset + step * len(lengths), step))
    else:
        offsets = [(end - now) // _US for end in ends]
    offsets[-1] = (deadline - now) // _US
    prices = list(map(_PRICE, inside))
    flags = list(map(_PROVISIONAL, inside))
    return Timeline(
        now, [0, *offsets[:-1]], offsets, prices, flags, any_provisional=True in flags,
        intensities=_intensities(list(map(_CO2, inside)), False),
    )  # fmt: skip


def _check_slots(slots: Sequence[Slot], columns: _Columns, *, strict: bool) -> bool:
    """Slots must be sorted and non-overlapping, and (strict) without gaps; True if contiguous."""
    # whole-list comparisons run in C: this check is on every plan's path
    if columns.ends[:-1] == columns.starts[1:] and min(columns.lengths, default=_US) > _ZERO:
        return True
    previous: Slot | None = None
    for slot in slots:
        _check_order(previous, slot, strict=strict)
        previous = slot
    return False


def _check_order(previous: Slot | None, slot: Slot, *, strict: bool) -> None:
    if slot.end <= slot.start:
        raise InvalidCase(f"prices: slot starting {_iso(slot.start)} does not end after it starts")
    if previous is None:
        return
    if slot.start < previous.end:
        raise InvalidCase(f"prices: slot starting {_iso(slot.start)} overlaps the one before it")
    if strict and slot.start > previous.end:
        raise InvalidCase(f"prices: gap between {_iso(previous.end)} and {_iso(slot.start)}")


def _fill(
    pieces: list[Piece],
    flags: list[bool],
    grams: list[float | None],
    now: datetime,
    start: datetime,
    end: datetime,
    tail: _Tail,
) -> None:
    if tail.price is None:
        raise InvalidCase(
            f"prices: no price for {_iso(start)} to {_iso(end)}; must cover now..deadline"
        )
    pieces.append(Piece((start - now) // _US, (end - now) // _US, tail.price))
    flags.append(True)
    grams.append(tail.g_co2_per_kwh)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def estimate_tail_price(slots: Sequence[Slot], *, window: timedelta = timedelta(hours=24)) -> float:
    """The price the daemon should assume for time after the last known slot.

    The mean of the last `window` of known prices (time-weighted): unpublished hours are valued
    at a typical recent price, so known hours are used when they are cheaper than usual and the
    tail when they are not. Returns 0.0 for no slots.
    """
    if not slots:
        return 0.0
    return recent_mean(slots, [s.price_per_kwh for s in slots], window)


def estimate_tail_intensity(
    slots: Sequence[Slot], *, window: timedelta = timedelta(hours=24)
) -> float:
    """The gCO2/kWh to assume where no intensity is known: the mean of the last `window` of
    slots that carry one (the same reasoning as `estimate_tail_price`); 0.0 for none."""
    known = [s for s in slots if s.g_co2_per_kwh is not None]
    if not known:
        return 0.0
    return recent_mean(known, [s.g_co2_per_kwh or 0.0 for s in known], window)


def recent_mean(
    slots: Sequence[Slot | IntensitySlot], values: Sequence[float], window: timedelta
) -> float:
    """Time-weighted mean of `values` (one per slot) over the last `window` of `slots`."""
    cutoff = slots[-1].end - window
    weighted, seconds = 0.0, 0.0
    for slot, value in zip(slots, values, strict=True):
        start = max(slot.start, cutoff)
        if slot.end > start:
            span = (slot.end - start).total_seconds()
            weighted += value * span
            seconds += span
    return weighted / seconds if seconds else values[-1]
