"""Backtracking of the lattice programme: which pieces the best join fills, as spans.

Nothing is stored while the lists are built; each decision is re-derived from them with the very
comparison that built them, so that ties resolve the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import add
from typing import TYPE_CHECKING

from enode_scheduler.planner.lattice_lists import Join, Layer, lower
from enode_scheduler.planner.pieces import FULL, LEFT, RIGHT, Piece

if TYPE_CHECKING:
    from enode_scheduler.planner.lattice import LatticeProgramme


def split_point(
    prog: LatticeProgramme, best: Join, forward: list[Layer], backward: list[Layer]
) -> int:
    """The k (units before the partial) that realises the best join."""
    last = len(prog.pieces) - 1
    left = (forward[best.piece - 1] if best.piece else (prog.start, None))[best.flag0]
    right = (backward[best.piece + 1] if best.piece < last else (prog.end, None))[best.flag1]
    assert left is not None
    assert right is not None
    before = left[1] if best.action == LEFT else lower(*left)
    after = right[0] if best.action == LEFT else right[1]
    low, high = max(0, best.j - prog.size), min(prog.size, best.j)
    shift = prog.size - best.j
    sums = list(map(add, before[low : high + 1], after[low + shift : high + shift + 1]))
    return low + sums.index(min(sums))


def trace_forward(
    prog: LatticeProgramme, forward: list[Layer], index: int, flag: int, on: int | None, k: int
) -> list[tuple[float, float] | None]:
    """Full pieces among index..0 that reach F[index][flag][on][k] (on None: cheaper side)."""
    spans: list[tuple[float, float] | None] = []
    pen = prog.penalty
    for at in range(index, -1, -1):
        pair = forward[at][flag]
        assert pair is not None
        if on is None:
            on = 1 if pair[1][k] <= pair[0][k] else 0
        if not on:
            on = None  # an empty piece keeps k; the cheaper side before it was taken
            continue
        spans.append(span(prog.pieces, at, FULL, 0.0))
        if at == 0:
            break
        piece = prog.pieces[at]
        cost = piece.price_per_kwh * piece.length_us
        k -= piece.length_us // prog.unit
        before = forward[at - 1][flag]
        assert before is not None
        # the same comparison as `_grow`, so that ties resolve the same way
        on = 1 if before[1][k] + cost < before[0][k] + (cost + pen) else 0
    return spans


def trace_backward(
    prog: LatticeProgramme, backward: list[Layer], index: int, flag: int, on: int, units: int
) -> list[tuple[float, float] | None]:
    """Decisions of pieces index..n-1 that realise B[index][flag][on][units]."""
    spans: list[tuple[float, float] | None] = []
    last = len(prog.pieces) - 1
    for at in range(index, last):
        pair = backward[at][flag]
        after = backward[at + 1][flag]
        assert pair is not None
        assert after is not None
        at_units = prog.size - units
        if pair[on][at_units] == after[0][at_units]:
            on = 0
            continue
        spans.append(span(prog.pieces, at, FULL, 0.0))
        units -= prog.pieces[at].length_us // prog.unit
        on = 1
    if index <= last and flag:
        spans.append(span(prog.pieces, last, FULL, 0.0))
    return spans


def span(
    pieces: Sequence[Piece], index: int, action: int, part: float
) -> tuple[float, float] | None:
    piece = pieces[index]
    if action == FULL:
        return (float(piece.start_us), float(piece.end_us))
    if action == LEFT:
        return (float(piece.start_us), piece.start_us + part)
    if action == RIGHT:
        return (piece.end_us - part, float(piece.end_us))
    return None
