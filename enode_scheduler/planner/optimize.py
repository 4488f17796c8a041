"""Exact placement of charging time into priced pieces of time.

The problem. The horizon is cut into *pieces* (slots clipped to the horizon) with a constant
price each. Choose disjoint charging intervals of total length ``need`` that minimise
``sum(price * time) + penalty * starts``, where a start is an interval that does not begin at
the horizon start while ``free_start`` holds. Time is in microseconds; money in price-microseconds
(the caller scales by the charge power).

Without a penalty, filling the cheapest pieces first is optimal (a fractional knapsack with unit
weights: every microsecond is interchangeable). Ties go to the earlier piece; the one partial piece
leans against a charged neighbour, so windows merge.

With a penalty we use this lemma. Call an interval endpoint *free* when it lies strictly inside a
piece. Some optimal plan has at most one free endpoint. Proof: take an optimal plan with two free
endpoints e1, e2 in pieces priced p1 <= p2. Move e1 so that its interval grows by d and e2 so that
its interval shrinks by d. The energy stays the same; the cost changes by d * (p1 - p2) <= 0; and
no start is added. Grow d until an endpoint reaches a piece boundary, two intervals meet (one
start fewer), or an interval vanishes (one start fewer). Each step removes a free endpoint or an
interval, so the process ends, and the objective never rises. An interval with both endpoints
inside one piece slides to a boundary at no cost in the same way.

So every piece of some optimal plan is empty, full, or holds one partial interval touching one of
its boundaries, and at most one piece is partial. The length of the partial is forced by the rest:
``r = need - (sum of the full pieces)``. `_exact_with_penalty` is a dynamic programme in time
order over the states (partial used yet?, charging at the boundary?, full length so far / full
length still to come). Lengths are exact integer sums of piece lengths, so no discretisation
error enters. Before the partial the state holds the length charged so far; when the partial is
placed we pick the length ``R`` that the later full pieces will add (an achievable subset sum of
the later pieces with ``0 < need - done - R <= piece``), and the state then counts ``R`` down
to zero. With 15/60-minute slots the lengths are few (multiples of 15 minutes plus the clipped
first/last piece): `lattice.LatticeProgramme` runs exactly this programme as arrays indexed by the
number of 15-minute units, which is the fast path; the dictionary form here is the general
fallback (any slot lengths), with a branch-and-bound cut against the cheapest-first plan.
Neighbouring pieces with one price are joined first: the lemma only needs price changes.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

from enode_scheduler.planner.lattice import LatticeProgramme
from enode_scheduler.planner.pieces import EMPTY as _EMPTY
from enode_scheduler.planner.pieces import FULL as _FULL
from enode_scheduler.planner.pieces import LEFT as _LEFT
from enode_scheduler.planner.pieces import RIGHT as _RIGHT
from enode_scheduler.planner.pieces import Piece

# A state is (partial placed?, charging at the boundary?, length in µs).
_State = tuple[bool, bool, int]
_Back = tuple[_State, int, float]


def place(
    pieces: Sequence[Piece], need_us: float, *, penalty: float, free_start: bool
) -> list[tuple[float, float]]:
    """Cheapest disjoint intervals (µs) holding exactly `need_us` of charging, sorted, merged.

    `penalty` is the start penalty in price-microseconds; `pieces` must be contiguous from 0.
    """
    if need_us <= 0 or not pieces:
        return []
    total_us = pieces[-1].end_us - pieces[0].start_us
    if need_us >= total_us:
        return [(float(pieces[0].start_us), float(pieces[-1].end_us))]
    if penalty <= 0:
        return merge(_cheapest_first(pieces, need_us))
    pieces = _join_equal_prices(pieces)
    if LatticeProgramme.fits(pieces, need_us):
        return merge(LatticeProgramme(pieces, need_us, penalty, free_start).solve())
    return merge(_exact_with_penalty(pieces, need_us, penalty, free_start))


def _join_equal_prices(pieces: Sequence[Piece]) -> list[Piece]:
    """Join neighbours with one price: the lemma below only needs price changes as boundaries."""
    out = [pieces[0]]
    for piece in pieces[1:]:
        if piece.price_per_kwh == out[-1].price_per_kwh:
            out[-1] = Piece(out[-1].start_us, piece.end_us, piece.price_per_kwh)
        else:
            out.append(piece)
    return out


def merge(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sort intervals and join those that touch."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _cheapest_first(pieces: Sequence[Piece], need_us: float) -> list[tuple[float, float]]:
    prices = [piece.price_per_kwh for piece in pieces]
    # a stable sort keeps ties in time order: the earlier piece is filled first
    order = sorted(range(len(pieces)), key=prices.__getitem__)
    chosen: set[int] = set()
    left = need_us
    partial = -1
    for index in order:
        length = pieces[index].length_us
        if length >= left:
            partial = index
            break
        chosen.add(index)
        left -= length
    out = [(float(pieces[i].start_us), float(pieces[i].end_us)) for i in chosen]
    if partial >= 0:
        piece = pieces[partial]
        # lean against a charged neighbour so that the windows merge
        if partial + 1 in chosen and partial - 1 not in chosen:
            out.append((piece.end_us - left, float(piece.end_us)))
        else:
            out.append((float(piece.start_us), piece.start_us + left))
    return out


def _subset_sums_after(pieces: Sequence[Piece], need_us: float) -> list[list[int]]:
    """For each piece i, the sorted lengths the pieces after i can add (each full or empty)."""
    sums: list[list[int]] = [[] for _ in pieces]
    reachable = {0}
    for index in range(len(pieces) - 1, -1, -1):
        sums[index] = sorted(reachable)
        length = pieces[index].length_us
        reachable |= {s + length for s in reachable if s + length < need_us + 1}
    return sums


def _exact_with_penalty(
    pieces: Sequence[Piece], need_us: float, penalty: float, free_start: bool
) -> list[tuple[float, float]]:
    after = _subset_sums_after(pieces, need_us)
    bound = _Bound(pieces, need_us, penalty, free_start)
    layer: dict[_State, float] = {(False, False, 0): 0.0}
    if free_start:
        layer[(False, True, 0)] = 0.0
    history: list[dict[_State, _Back]] = []
    for index, piece in enumerate(pieces):
        layer, back = _step(layer, piece, after[index], need_us, penalty)
        layer = bound.prune(layer, penalty)
        history.append(back)
    finals = [(cost, s) for s, cost in layer.items() if s[0] and s[2] == 0]
    if not finals:
        return bound.incumbent
    state = min(finals)[1]
    return _replay(pieces, history, state)


class _Bound:
    """Branch and bound around the DP: drop states that cannot beat the cheapest-first plan.

    The lower bound of a state is its cost so far plus the cheapest fill of what is still to
    charge among all pieces, ignoring starts; it never overestimates, so no optimum is lost.
    """

    def __init__(
        self, pieces: Sequence[Piece], need_us: float, penalty: float, free_start: bool
    ) -> None:
        self.need_us = need_us
        self.incumbent = merge(_cheapest_first(pieces, need_us))
        self.upper = _objective(pieces, self.incumbent, penalty, free_start)
        self.upper += 1e-9 * abs(self.upper) + 1e-6
        ordered = sorted((p.price_per_kwh, p.length_us) for p in pieces)
        self.lengths: list[float] = []
        self.costs: list[float] = []
        total_length, total_cost = 0.0, 0.0
        for price, length in ordered:
            total_length += length
            total_cost += price * length
            self.lengths.append(total_length)
            self.costs.append(total_cost)
        self.prices = [price for price, _ in ordered]

    def fill_cost(self, amount: float) -> float:
        index = bisect_left(self.lengths, amount)
        if index >= len(self.lengths):
            return self.costs[-1]
        before_length = self.lengths[index - 1] if index else 0.0
        before_cost = self.costs[index - 1] if index else 0.0
        return before_cost + self.prices[index] * (amount - before_length)

    def prune(self, layer: dict[_State, float], penalty: float) -> dict[_State, float]:
        kept: dict[_State, float] = {}
        for state, cost in layer.items():
            placed, charging, length = state
            twin = layer.get((placed, not charging, length))
            # charging can stop for free and idling can start for the penalty
            if twin is not None and (twin <= cost if not charging else twin + penalty <= cost):
                continue
            left = length if placed else self.need_us - length
            if cost + self.fill_cost(left) <= self.upper:
                kept[state] = cost
        return kept


def _objective(
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


def _step(
    layer: dict[_State, float], piece: Piece, later: list[int], need_us: float, penalty: float
) -> tuple[dict[_State, float], dict[_State, _Back]]:
    new: dict[_State, float] = {}
    back: dict[_State, _Back] = {}
    later_set = set(later)
    length, price = piece.length_us, piece.price_per_kwh
    full_cost = price * length
    inf = math.inf
    for prev, cost in layer.items():
        placed, charging, done = prev
        start_cost = 0.0 if charging else penalty
        moves: list[tuple[_State, float, int, float]] = []
        if not placed or done in later_set:
            moves.append(((placed, False, done), cost, _EMPTY, 0.0))
        if not placed:
            if done + length < need_us:
                moves.append(
                    ((False, True, done + length), cost + full_cost + start_cost, _FULL, 0)
                )
            rest = need_us - done
            for still in later[bisect_left(later, rest - length) : bisect_left(later, rest)]:
                part = rest - still
                if charging:
                    moves.append(((True, False, still), cost + price * part, _LEFT, part))
                moves.append(((True, True, still), cost + price * part + penalty, _RIGHT, part))
        elif done - length in later_set:
            moves.append(((True, True, done - length), cost + full_cost + start_cost, _FULL, 0))
        for state, value, action, amount in moves:
            if value < new.get(state, inf):
                new[state] = value
                back[state] = (prev, action, amount)
    return new, back


def _replay(
    pieces: Sequence[Piece], history: list[dict[_State, _Back]], state: _State
) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for index in range(len(pieces) - 1, -1, -1):
        prev, action, amount = history[index][state]
        piece = pieces[index]
        if action == _FULL:
            out.append((float(piece.start_us), float(piece.end_us)))
        elif action == _LEFT:
            out.append((float(piece.start_us), piece.start_us + amount))
        elif action == _RIGHT:
            out.append((piece.end_us - amount, float(piece.end_us)))
        state = prev
    return out
