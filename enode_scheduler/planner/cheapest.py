"""Placement without a start penalty, and the objective of a set of spans.

Without a penalty, filling the cheapest pieces first is optimal (a fractional knapsack with unit
weights: every microsecond is interchangeable). Ties go to the earlier piece; the one partial piece
leans against a charged neighbour, so windows merge.
"""

from __future__ import annotations

from collections.abc import Sequence

from enode_scheduler.planner.pieces import Piece


def merge(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sort intervals and join those that touch."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def place_cheapest(
    starts_us: Sequence[int], ends_us: Sequence[int], prices: Sequence[float], need_us: float
) -> list[tuple[float, float]]:
    """`place` without a start penalty, on parallel lists: no piece objects on the hot path."""
    if need_us <= 0 or not starts_us:
        return []
    if need_us >= ends_us[-1] - starts_us[0]:
        return [(float(starts_us[0]), float(ends_us[-1]))]
    return merge(_cheapest_columns(starts_us, ends_us, prices, need_us))


def cheapest_first(pieces: Sequence[Piece], need_us: float) -> list[tuple[float, float]]:
    """Cheapest-first spans (not merged) of pieces; ties to the earlier piece."""
    starts, ends, prices = (
        [p.start_us for p in pieces],
        [p.end_us for p in pieces],
        [p.price_per_kwh for p in pieces],
    )
    return _cheapest_columns(starts, ends, prices, need_us)


def _cheapest_columns(
    starts: Sequence[int], ends: Sequence[int], prices: Sequence[float], need_us: float
) -> list[tuple[float, float]]:
    # a stable sort keeps ties in time order: the earlier piece is filled first
    order = sorted(range(len(prices)), key=prices.__getitem__)
    chosen: set[int] = set()
    left = need_us
    partial = -1
    for index in order:
        length = ends[index] - starts[index]
        if length >= left:
            partial = index
            break
        chosen.add(index)
        left -= length
    out = [(float(starts[i]), float(ends[i])) for i in chosen]
    if partial >= 0:
        # lean against a charged neighbour so that the windows merge
        if partial + 1 in chosen and partial - 1 not in chosen:
            out.append((ends[partial] - left, float(ends[partial])))
        else:
            out.append((float(starts[partial]), starts[partial] + left))
    return out


def objective(
    pieces: Sequence[Piece], spans: Sequence[tuple[float, float]], penalty: float, free_start: bool
) -> float:
    cost = 0.0
    for piece in pieces:
        for start, end in spans:
            low, high = max(start, piece.start_us), min(end, piece.end_us)
            if high > low:
                cost += piece.price_per_kwh * (high - low)
    starts = len(spans) - (1 if spans and free_start and spans[0][0] <= pieces[0].start_us else 0)
    return cost + penalty * starts
