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

    def split_floors(self) -> list[float]:
        """`split` less the float slack: safe to compare with an objective the lattice computed."""
        return [b - self.slack for b in self.split]


def marginal_price(prices: Sequence[float], lengths: Sequence[int], need_us: float) -> float:
    """Price of the last piece the cheapest-first fill of `need_us` touches."""
    left = need_us
    for index in sorted(range(len(prices)), key=prices.__getitem__):
        left -= lengths[index]
        if left <= 0:
            return prices[index]
    return max(prices)


def piece_bounds(
    pieces: Sequence[Piece], need_us: float, penalty: float, free_start: bool
) -> PieceBounds:
    """Bounds for every piece from one Lagrangian relaxation at the marginal price."""
    prices = [p.price_per_kwh for p in pieces]
    lengths = [p.end_us - p.start_us for p in pieces]
    lam = marginal_price(prices, lengths, need_us)
    weights = [(price - lam) * length for price, length in zip(prices, lengths, strict=True)]
    on_before, off_before = _forward(weights, penalty, free_start)
    on_after, off_after = _backward(weights, penalty)
    shift = lam * need_us
    rows = zip(on_before, off_before, weights, on_after[1:], off_after[1:], strict=False)
    full, split = [], []
    for on, off, weight, later_on, later_off in rows:
        enter = on if on < off + penalty else off + penalty
        full.append(enter + weight + later_on + shift)
        ends = on + later_off
        opens = (on if on < off else off) + penalty + later_on
        split.append((ends if ends < opens else opens) + (weight if weight < 0 else 0.0) + shift)
    # every plan of the lattice's form has its partial somewhere
    floor = min(split)
    # float error of sums over ~1e10 price-µs: far below any cost that matters
    scale = sum(abs(w) for w in weights) + penalty + abs(shift)
    return PieceBounds(full, split, floor, 1e-9 * scale + 1.0)


def _forward(weights: list[float], penalty: float, free_start: bool) -> tuple[list[float], ...]:
    """Least relaxed value of pieces before i, ending charging / idle at boundary i."""
    a, b = (0.0 if free_start else INF), 0.0
    on, off = [a], [b]
    for weight in weights:
        a, b = (a if a < b + penalty else b + penalty) + weight, (a if a < b else b)
        on.append(a)
        off.append(b)
    return on, off


def _backward(weights: list[float], penalty: float) -> tuple[list[float], ...]:
    """Least relaxed value of pieces from i on, given charging / idle at boundary i."""
    a = b = 0.0
    on, off = [a], [b]
    for weight in reversed(weights):
        full = weight + a
        a, b = (b if b < full else full), (b if b < full + penalty else full + penalty)
        on.append(a)
        off.append(b)
    return on[::-1], off[::-1]
