"""The start-penalty programme of `optimize` on a time lattice: same states, arrays for speed.

Interior pieces (all but the first and the last, which `now` and the deadline may clip) have
lengths that are multiples of one unit `g` (their gcd: 15 minutes for 15/60-minute slots). A length
is then ``k * g`` plus the first piece's length when it is full (before the partial) or plus the
last piece's length when it will be full (after it). So each state family is a list indexed by k,
and a layer is eight lists: (partial placed?, offset flag, charging?) -> cost by k. Backtracking
recomputes which move gave each value instead of storing pointers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce

from enode_scheduler.planner.pieces import EMPTY as _EMPTY
from enode_scheduler.planner.pieces import FULL as _FULL
from enode_scheduler.planner.pieces import LEFT as _LEFT
from enode_scheduler.planner.pieces import RIGHT as _RIGHT
from enode_scheduler.planner.pieces import Piece

INF = math.inf
# Above this many lattice units the dictionary programme of `optimize` is used instead.
MAX_UNITS = 4000
_Layer = list[list[float]]
_TOL = 1e-9


def _at(placed: int, flag: int, on: int) -> int:
    return placed * 4 + flag * 2 + on


class LatticeProgramme:
    """Exact placement with a start penalty over pieces whose inner lengths share a unit."""

    def __init__(
        self, pieces: Sequence[Piece], need_us: float, penalty: float, free_start: bool
    ) -> None:
        self.pieces = pieces
        self.need = need_us
        self.penalty = penalty
        self.unit = reduce(math.gcd, (p.length_us for p in pieces[1:-1]))
        self.size = int(need_us // self.unit) + 1
        self.first = pieces[0].length_us
        self.last = pieces[-1].length_us
        start: _Layer = [[INF] * (self.size + 1) for _ in range(8)]
        start[_at(0, 0, 0)][0] = 0.0
        if free_start:
            start[_at(0, 0, 1)][0] = 0.0
        self.layers: list[_Layer] = [start]
        self._partial_cache: dict[tuple[int, bool, bool], list[tuple[int, int, int, float]]] = {}

    @classmethod
    def fits(cls, pieces: Sequence[Piece], need_us: float) -> bool:
        if len(pieces) < 3:
            return False
        unit = reduce(math.gcd, (p.length_us for p in pieces[1:-1]))
        return unit > 0 and need_us / unit < MAX_UNITS

    def solve(self) -> list[tuple[float, float]]:
        for index in range(len(self.pieces) - 1):
            self.layers.append(self._forward(index, self.layers[-1]))
        finals = self._finals(self.layers[-1])
        _, at, k, action, part = min(finals)
        spans = [self._span(len(self.pieces) - 1, action, part)]
        for index in range(len(self.pieces) - 2, -1, -1):
            at, k, action, part = self._back(index, at, k)
            spans.append(self._span(index, action, part))
        return [s for s in spans if s is not None]

    # --- moves -------------------------------------------------------------------------------

    def _partials(self, index: int) -> list[tuple[int, int, int, float]]:
        """(flag before, flag after, j = k + k', length r) of every partial fill of piece index."""
        key = (self.pieces[index].length_us, index == 0, index == len(self.pieces) - 1)
        cached = self._partial_cache.get(key)
        if cached is None:
            cached = self._partial_cache[key] = self._compute_partials(index)
        return cached

    def _compute_partials(self, index: int) -> list[tuple[int, int, int, float]]:
        piece, out = self.pieces[index], []
        last = index == len(self.pieces) - 1
        for flag0 in (0, 1) if index > 0 else (0,):
            for flag1 in (0, 1) if not last else (0,):
                base = self.need - flag0 * self.first - flag1 * self.last
                top = math.floor(base / self.unit)
                for j in range(max(0, top - piece.length_us // self.unit - 1), top + 1):
                    part = base - j * self.unit
                    if 0 < part <= piece.length_us + _TOL:
                        out.append((flag0, flag1, j, min(part, float(piece.length_us))))
        return out

    def _forward(self, index: int, layer: _Layer) -> _Layer:
        piece, size, pen = self.pieces[index], self.size, self.penalty
        live = [min(values) < INF for values in layer]
        new: _Layer = [[INF] * (size + 1) for _ in range(8)]
        for base in (0, 2, 4, 6):
            if live[base] or live[base + 1]:
                new[base] = [
                    x if x < y else y for x, y in zip(layer[base], layer[base + 1], strict=True)
                ]
        price, cost = piece.price_per_kwh, piece.price_per_kwh * piece.length_us
        if index == 0:
            if self.first < self.need:
                on0, off0 = layer[_at(0, 0, 1)][0] + cost, layer[_at(0, 0, 0)][0] + pen + cost
                new[_at(0, 1, 1)][0] = on0 if on0 < off0 else off0
        else:
            step = piece.length_us // self.unit
            restart = pen + cost
            for flag in (0, 1) if step <= size else ():
                # lists 0-3: before the partial (k counts up); 4-7: after it (k counts down)
                off_at, on_at = flag * 2, flag * 2 + 1
                if live[off_at] or live[on_at]:
                    off, on = layer[off_at][: size + 1 - step], layer[on_at]
                    new[on_at][step:] = _cheaper(on, off, cost, restart)
                if live[off_at + 4] or live[on_at + 4]:
                    off, on = layer[off_at + 4][step:], layer[on_at + 4][step:]
                    new[on_at + 4][: size + 1 - step] = _cheaper(on, off, cost, restart)
        for flag0, flag1, j, part in self._partials(index):
            if not (live[flag0 * 2] or live[flag0 * 2 + 1]):
                continue
            low, high = max(0, j - size), min(size, j)
            if low > high:
                continue
            extra = price * part
            restart = extra + pen
            on = layer[flag0 * 2 + 1][low : high + 1][::-1]
            off = layer[flag0 * 2][low : high + 1][::-1]
            left, right = new[4 + flag1 * 2], new[5 + flag1 * 2]
            span = slice(j - high, j - low + 1)
            left[span] = [
                a if a < (b := x + extra) else b for a, x in zip(left[span], on, strict=False)
            ]
            right[span] = [
                a if a < (b := (x if x < y else y) + restart) else b
                for a, x, y in zip(right[span], on, off, strict=False)
            ]
        return new

    def _finals(self, layer: _Layer) -> list[tuple[float, int, int, int, float]]:
        """(value, list index, k, action, part) of every way to finish with the last piece."""
        pen, piece = self.penalty, self.pieces[-1]
        cost = piece.price_per_kwh * piece.length_us
        out = [
            (layer[_at(1, 0, 0)][0], _at(1, 0, 0), 0, _EMPTY, 0.0),
            (layer[_at(1, 0, 1)][0], _at(1, 0, 1), 0, _EMPTY, 0.0),
            (layer[_at(1, 1, 1)][0] + cost, _at(1, 1, 1), 0, _FULL, 0.0),
            (layer[_at(1, 1, 0)][0] + pen + cost, _at(1, 1, 0), 0, _FULL, 0.0),
        ]
        for flag0, _, j, part in self._partials(len(self.pieces) - 1):
            if j > self.size:
                continue
            extra = piece.price_per_kwh * part
            out.append((layer[_at(0, flag0, 1)][j] + extra, _at(0, flag0, 1), j, _LEFT, part))
            out.append(
                (layer[_at(0, flag0, 0)][j] + extra + pen, _at(0, flag0, 0), j, _RIGHT, part)
            )
            out.append(
                (layer[_at(0, flag0, 1)][j] + extra + pen, _at(0, flag0, 1), j, _RIGHT, part)
            )
        return out

    def _back(self, index: int, at: int, k: int) -> tuple[int, int, int, float]:
        """The state before piece `index` and the move that led to (at, k) after it."""
        target = self.layers[index + 1][at][k]
        for before, k0, action, part, value in self._moves_into(index, at, k):
            if abs(value - target) <= _TOL * max(1.0, abs(target)):
                return before, k0, action, part
        raise ArithmeticError("lattice backtrack lost its path")

    def _moves_into(self, index: int, at: int, k: int) -> list[tuple[int, int, int, float, float]]:
        layer, pen, piece = self.layers[index], self.penalty, self.pieces[index]
        placed, flag, on = at // 4, (at // 2) % 2, at % 2
        cost, price = piece.price_per_kwh * piece.length_us, piece.price_per_kwh
        moves: list[tuple[int, int, int, float, float]] = []
        if not on:
            for src in (_at(placed, flag, 0), _at(placed, flag, 1)):
                moves.append((src, k, _EMPTY, 0.0, layer[src][k]))
        elif index == 0 and placed == 0:
            if flag == 1 and k == 0:
                moves.append((_at(0, 0, 1), 0, _FULL, 0.0, layer[_at(0, 0, 1)][0] + cost))
                moves.append((_at(0, 0, 0), 0, _FULL, 0.0, layer[_at(0, 0, 0)][0] + pen + cost))
        elif index > 0:
            step = piece.length_us // self.unit
            k0 = k - step if placed == 0 else k + step
            if 0 <= k0 <= self.size:
                moves.append(
                    (_at(placed, flag, 1), k0, _FULL, 0.0, layer[_at(placed, flag, 1)][k0] + cost)
                )
                moves.append(
                    (
                        _at(placed, flag, 0),
                        k0,
                        _FULL,
                        0.0,
                        layer[_at(placed, flag, 0)][k0] + pen + cost,
                    )
                )
        if placed == 1:
            for flag0, flag1, j, part in self._partials(index):
                k0 = j - k
                if flag1 != flag or not 0 <= k0 <= self.size:
                    continue
                extra = price * part
                if not on:
                    moves.append(
                        (_at(0, flag0, 1), k0, _LEFT, part, layer[_at(0, flag0, 1)][k0] + extra)
                    )
                else:
                    for src in (_at(0, flag0, 1), _at(0, flag0, 0)):
                        moves.append((src, k0, _RIGHT, part, layer[src][k0] + extra + pen))
        return moves

    def _span(self, index: int, action: int, part: float) -> tuple[float, float] | None:
        piece = self.pieces[index]
        if action == _FULL:
            return (float(piece.start_us), float(piece.end_us))
        if action == _LEFT:
            return (float(piece.start_us), piece.start_us + part)
        if action == _RIGHT:
            return (piece.end_us - part, float(piece.end_us))
        return None


def _cheaper(
    first: list[float], second: list[float], first_add: float, second_add: float
) -> list[float]:
    """Element-wise min(first + first_add, second + second_add)."""
    return [
        a + first_add if a + first_add < b + second_add else b + second_add
        for a, b in zip(first, second, strict=False)
    ]
