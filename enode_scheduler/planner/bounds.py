"""Lagrangian lower bounds that let the exact programme skip pieces no optimal plan uses.

For any multiplier `lam` and any plan of duration exactly `need`:

    cost + penalty * starts = sum((price - lam) * time) + penalty * starts + lam * need.

Drop the duration constraint on the right and minimise: that is a lower bound. It stays one when
we only minimise over plans that fill piece i (or put the partial in piece i). Without the
duration constraint whole pieces suffice: the expression is linear in the time used of any partly
used piece, and moving that time to 0 or to the whole piece never adds a start (it only shrinks
or merges windows), so one of the two ends is at least as good. A two-state programme (charging
or not at each piece boundary) then gives, for every piece at once, the least value of plans that
fill it (`full`) or that hold the partial there (`split`; its own term is ``min(0, w_i)``, entered
charging and left idle, or entered anyhow and left charging after a start, as `lattice` does).

If a bound exceeds the objective of some known plan, no optimal plan fills (splits) that piece,
and the lattice programme may treat it as always empty (never partial) without losing the
optimum. `lam` is the marginal price of the cheapest-first fill, where the bound is tight
without a penalty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from enode_scheduler.planner.pieces import Piece

INF = math.inf


class PieceBounds(NamedTuple):
    """Lower bounds on the objective of plans that fill / split each piece, and of all plans.

    `floor` is the least `split` bound: every plan of the form the lattice searches puts its
    partial (which may be a whole piece) in some piece, so no plan is cheaper.
    """

    full: list[float]
    split: list[float]
    floor: float
    slack: float

    def masks(self, upper: float) -> tuple[list[bool], list[bool]]:
        """(may fill, may split) per piece for plans no worse than `upper`."""
        top = upper + self.slack
        return [b <= top for b in self.full], [b <= top for b in self.split]


def marginal_price(pieces: Sequence[Piece], need_us: float) -> float:
    """Price of the last piece the cheapest-first fill of `need_us` touches."""
    left = need_us
    for piece in sorted(pieces, key=lambda p: p.price_per_kwh):
        left -= piece.length_us
        if left <= 0:
            return piece.price_per_kwh
    return max(piece.price_per_kwh for piece in pieces)


def piece_bounds(
    pieces: Sequence[Piece], need_us: float, penalty: float, free_start: bool
) -> PieceBounds:
    """Bounds for every piece from one Lagrangian relaxation at the marginal price."""
    lam = marginal_price(pieces, need_us)
    weights = [(p.price_per_kwh - lam) * p.length_us for p in pieces]
    on_before, off_before = _forward(weights, penalty, free_start)
    on_after, off_after = _backward(weights, penalty)
    shift = lam * need_us
    full, split = [], []
    for i, weight in enumerate(weights):
        enter = min(on_before[i], off_before[i] + penalty)
        full.append(enter + weight + on_after[i + 1] + shift)
        ends = on_before[i] + off_after[i + 1]
        opens = min(on_before[i], off_before[i]) + penalty + on_after[i + 1]
        split.append(min(ends, opens) + min(0.0, weight) + shift)
    # every plan of the lattice's form has its partial somewhere
    floor = min(split)
    # float error of sums over ~1e10 price-µs: far below any cost that matters
    scale = sum(abs(p.price_per_kwh) * p.length_us for p in pieces) + penalty + abs(shift)
    return PieceBounds(full, split, floor, 1e-9 * scale + 1.0)


def _forward(weights: list[float], penalty: float, free_start: bool) -> tuple[list[float], ...]:
    """Least relaxed value of pieces before i, ending charging / idle at boundary i."""
    on, off = [0.0 if free_start else INF], [0.0]
    for weight in weights:
        a, b = on[-1], off[-1]
        on.append((a if a < b + penalty else b + penalty) + weight)
        off.append(a if a < b else b)
    return on, off


def _backward(weights: list[float], penalty: float) -> tuple[list[float], ...]:
    """Least relaxed value of pieces from i on, given charging / idle at boundary i."""
    count = len(weights)
    on, off = [0.0] * (count + 1), [0.0] * (count + 1)
    for i in range(count - 1, -1, -1):
        a, b, weight = on[i + 1], off[i + 1], weights[i]
        on[i] = b if b < weight + a else weight + a
        off[i] = b if b < weight + penalty + a else weight + penalty + a
    return on, off
