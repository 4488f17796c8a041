"""The list operations of the lattice programme: one step forward or backward, and the join.

A pair holds two lists by `on` (0: idle at the boundary, 1: charging there), indexed by lattice
units; a layer holds one pair per flag (first / last piece full), or None where a flag is
impossible. Backward lists are stored reversed (position size - R), so that a join pairs both
sides in order. Comprehensions with a conditional are the fastest element-wise minimum in
pure Python; `min(map(add, ...))` runs entirely in C.
"""

from __future__ import annotations

import math
from operator import add
from typing import NamedTuple

INF = math.inf
Pair = tuple[list[float], list[float]]
Layer = tuple[Pair | None, Pair | None]


class Join(NamedTuple):
    """A candidate optimum: the partial piece, its side, its length and the lists it joins."""

    value: float
    piece: int
    action: int
    part: float
    flag0: int
    flag1: int
    j: int


def lower(first: list[float], second: list[float]) -> list[float]:
    """Element-wise minimum."""
    return [a if a < b else b for a, b in zip(first, second, strict=True)]


def settled(pair: Pair | None, never: list[float]) -> bool:
    """True if an empty piece would not change this F pair (it already ends idle)."""
    return pair is None or pair[1] is never


def passed(pair: Pair | None) -> bool:
    """True if an empty piece would not change this B pair (both sides are the idle lists)."""
    return pair is None or pair[0] is pair[1]


def shrink(pair: Pair, step: int, cost: float, penalty: float) -> Pair:
    """B before an interior piece: from idle a filled piece is a start, from charging it is not."""
    off, on = pair
    restart = cost + penalty
    later, tail = on[step:], off[max(0, len(off) - step) :]
    from_idle = [b if b < a + restart else a + restart for a, b in zip(later, off, strict=False)]
    from_on = [b if b < a + cost else a + cost for a, b in zip(later, off, strict=False)]
    return from_idle + tail, from_on + tail


def meet(before: list[float], after: list[float], j: int, size: int) -> float:
    """min over k of F[k] + B[j - k]: both sides of a partial with j units around it.

    `after` is reversed (B[R] at size - R), so k and size - j + k run up together.
    """
    low, high = (j - size if j > size else 0), (j if j < size else size)
    if low > high:
        return INF
    shift = size - j
    return float(min(map(add, before[low : high + 1], after[low + shift : high + shift + 1])))
