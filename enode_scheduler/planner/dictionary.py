"""The start-penalty programme of `optimize` over states in dictionaries: any slot lengths.

The general fallback when the inner pieces share no usable time unit (see `optimize` for the
lemma and the states). A branch-and-bound cut against the cheapest-first plan keeps it small.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

from enode_scheduler.planner.cheapest import cheapest_first, merge, objective
from enode_scheduler.planner.pieces import EMPTY as _EMPTY
from enode_scheduler.planner.pieces import FULL as _FULL
from enode_scheduler.planner.pieces import LEFT as _LEFT
from enode_scheduler.planner.pieces import RIGHT as _RIGHT
from enode_scheduler.planner.pieces import Piece

# A state is (partial placed?, charging at the boundary?, length in µs).
_State = tuple[bool, bool, int]
_Back = tuple[_State, int, float]


def _subset_sums_after(pieces: Sequence[Piece], need_us: float) -> list[list[int]]:
    """For each piece i, the sorted lengths the pieces after i can add (each full or empty)."""
    sums: list[list[int]] = [[] for _ in pieces]
    reachable = {0}
    for index in range(len(pieces) - 1, -1, -1):
        sums[index] = sorted(reachable)
        length = pieces[index].length_us
        reachable |= {s + length for s in reachable if s + length < need_us + 1}
    return sums


def exact_with_penalty(
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
        self.incumbent = merge(cheapest_first(pieces, need_us))
        self.upper = objective(pieces, self.incumbent, penalty, free_start)
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
