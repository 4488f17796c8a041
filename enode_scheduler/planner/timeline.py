"""Turn price slots into the priced pieces of one planning horizon, checking coverage."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from enode_scheduler.exceptions import InvalidCase
from enode_scheduler.planner.models import Slot
from enode_scheduler.planner.pieces import Piece

_US = timedelta(microseconds=1)
_new_piece = tuple.__new__


@dataclass(frozen=True, slots=True)
class Timeline:
    """Pieces of the horizon in µs from `origin`; `provisional[i]` marks estimated prices."""

    origin: datetime
    pieces: tuple[Piece, ...]
    provisional: tuple[bool, ...]
    ends_us: tuple[int, ...] = ()

    def at(self, offset_us: float) -> datetime:
        return self.origin + timedelta(microseconds=round(offset_us))

    def cost_per_kw(self, start_us: float, end_us: float) -> float:
        """Sum of price * hours over [start_us, end_us): the cost of 1 kW drawn in it."""
        total = 0.0
        for index in range(self._first_after(start_us), len(self.pieces)):
            piece = self.pieces[index]
            if piece.start_us >= end_us:
                break
            total += piece.price_per_kwh * (
                min(end_us, piece.end_us) - max(start_us, piece.start_us)
            )
        return total / 3.6e9

    def is_provisional(self, start_us: float, end_us: float) -> bool:
        if True not in self.provisional:
            return False
        return any(
            flag and piece.start_us < end_us and start_us < piece.end_us
            for piece, flag in zip(self.pieces, self.provisional, strict=True)
        )

    def _first_after(self, moment_us: float) -> int:
        """Index of the first piece that ends after `moment_us`."""
        return bisect_right(self.ends_us, moment_us)

    def clipped(self, start_us: int) -> tuple[Piece, ...]:
        """The pieces from `start_us` on, the first one cut at `start_us`."""
        if start_us <= 0:
            return self.pieces
        first = self._first_after(start_us)
        if first >= len(self.pieces):
            return ()
        head = self.pieces[first]
        return (Piece(start_us, head.end_us, head.price_per_kwh), *self.pieces[first + 1 :])


def build_timeline(
    slots: Sequence[Slot], *, now: datetime, deadline: datetime, tail_price: float | None
) -> Timeline:
    """Clip `slots` to [now, deadline]; fill what they miss at `tail_price`, or refuse.

    Without `tail_price`, slots must be contiguous over [now, deadline] (the contract); with it,
    any part of the horizon without a slot is priced at `tail_price` and marked provisional.
    """
    contiguous = _check_slots(slots, strict=tail_price is None)
    if contiguous and slots and slots[0].start <= now and slots[-1].end >= deadline:
        return _covered(slots, now, deadline)
    pieces: list[Piece] = []
    flags: list[bool] = []
    cursor = now
    cursor_us = 0
    for slot in slots:
        if slot.end <= cursor:
            continue
        if slot.start >= deadline:
            break
        if slot.start > cursor:
            _fill(pieces, flags, now, cursor, slot.start, tail_price)
            cursor_us = pieces[-1].end_us
        cursor = slot.end if slot.end < deadline else deadline
        end_us = (cursor - now) // _US
        pieces.append(_new_piece(Piece, (cursor_us, end_us, slot.price_per_kwh)))
        flags.append(slot.provisional)
        cursor_us = end_us
    if cursor < deadline:
        _fill(pieces, flags, now, cursor, deadline, tail_price)
    return Timeline(now, tuple(pieces), tuple(flags), tuple(p.end_us for p in pieces))


def _covered(slots: Sequence[Slot], now: datetime, deadline: datetime) -> Timeline:
    """The common case, in bulk: contiguous slots that cover [now, deadline]."""
    inside = [s for s in slots if s.end > now and s.start < deadline]
    ends = [(s.end - now) // _US for s in inside]
    ends[-1] = (deadline - now) // _US
    # tuple.__new__ skips the NamedTuple constructor: a third of the cost on hot paths
    pieces = tuple(
        _new_piece(Piece, (start, end, slot.price_per_kwh))
        for start, end, slot in zip([0, *ends[:-1]], ends, inside, strict=True)
    )
    return Timeline(now, pieces, tuple(s.provisional for s in inside), tuple(ends))


def _check_slots(slots: Sequence[Slot], *, strict: bool) -> bool:
    """Slots must be sorted and non-overlapping, and (strict) without gaps; True if contiguous."""
    if all(a.end == b.start for a, b in pairwise(slots)) and all(s.end > s.start for s in slots):
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
    now: datetime,
    start: datetime,
    end: datetime,
    tail_price: float | None,
) -> None:
    if tail_price is None:
        raise InvalidCase(
            f"prices: no price for {_iso(start)} to {_iso(end)}; must cover now..deadline"
        )
    pieces.append(Piece((start - now) // _US, (end - now) // _US, tail_price))
    flags.append(True)


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
    cutoff = slots[-1].end - window
    weighted, seconds = 0.0, 0.0
    for slot in slots:
        start = max(slot.start, cutoff)
        if slot.end > start:
            span = (slot.end - start).total_seconds()
            weighted += slot.price_per_kwh * span
            seconds += span
    return weighted / seconds if seconds else slots[-1].price_per_kwh
