"""The start-penalty programme of `optimize` on a time lattice, met in the middle.

Interior pieces (all but the first and the last, which `now` and the deadline may clip) have
lengths that are multiples of one unit `u` (their gcd: 15 minutes for 15/60-minute slots). By the
lemma in `optimize`, some optimal plan fills whole pieces plus exactly one partial piece `i` (a
partial may be the whole piece) touching one of its edges. The full length before `i` is
``f0 * first + k * u`` and after it ``f1 * last + R * u`` (f0/f1: first/last piece full), so the
partial's length ``need - f0 * first - f1 * last - (k + R) * u`` is forced by ``j = k + R``.

So two small programmes over full/empty pieces suffice: a forward one, F[i][f0][on][k] = cheapest
pieces 0..i with k interior units full, ending charging (on) or not; and a backward one,
B[i][f1][on][R] = cheapest pieces i..n-1 with R interior units full, given charging (on) or not
just before piece i. Each piece costs two list passes per flag in each direction. A partial at
piece i then joins F[i-1] and B[i+1] over all k with k + R = j: a minimum of sums, which runs as
one C-level `min(map(add, ...))` without building a list. Ending the partial at the piece's left
edge continues a window (no start) and idles after it; touching the right edge opens a window (a
start) that the next piece may continue. The best join over all pieces is the optimum;
`lattice_trace` re-derives each decision from the stored lists instead of storing pointers.

Masks from `bounds` mark pieces that no optimal plan fills or splits: such a piece is only ever
empty, which costs no list pass at all once the lists on both sides are idle, and the joins visit
pieces in order of their lower bound and stop at the first one that cannot beat the best so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce

from enode_scheduler.planner.lattice_lists import (
    INF,
    Join,
    Layer,
    Pair,
    lower,
    meet,
    passed,
    settled,
    shrink,
)
from enode_scheduler.planner.lattice_trace import span, split_point, trace_backward, trace_forward
from enode_scheduler.planner.pieces import LEFT, RIGHT, Piece

__all__ = ["INF", "MAX_UNITS", "LatticeProgramme"]

# Above this many lattice units the dictionary programme of `optimize` is used instead.
MAX_UNITS = 4000
_TOL = 1e-9


class LatticeProgramme:
    """Exact placement with a start penalty over pieces whose inner lengths share a unit."""

    def __init__(
        self,
        pieces: Sequence[Piece],
        need_us: float,
        penalty: float,
        free_start: bool,
    ) -> None:
        self.pieces = pieces
        everywhere = [True] * len(pieces)
        self.may_fill: Sequence[bool] = everywhere
        self.may_split: Sequence[bool] = everywhere
        self.value = INF
        self.split_floors: Sequence[float] = ()
        self.need = need_us
        self.penalty = penalty
        self.unit = reduce(math.gcd, (p.length_us for p in pieces[1:-1]))
        self.size = int(need_us // self.unit) + 1
        self.first = pieces[0].length_us
        self.last = pieces[-1].length_us
        lengths = [p.end_us - p.start_us for p in pieces]
        self.steps = [length // self.unit for length in lengths]
        self.costs = [p.price_per_kwh * length for p, length in zip(pieces, lengths, strict=True)]
        # the shared list for "never charging here": steps recognise it and skip their passes
        self.never = [INF] * (self.size + 1)
        self.free_start = free_start
        self.start = self._point(0.0, 0.0 if free_start else INF)
        self.end = self._end_point(0.0, 0.0)
        self._partial_cache: dict[tuple[int, bool, bool], list[tuple[int, int, int, float]]] = {}

    @classmethod
    def fits(cls, pieces: Sequence[Piece], need_us: float) -> bool:
        if len(pieces) < 3:
            return False
        unit = reduce(math.gcd, (p.length_us for p in pieces[1:-1]))
        return unit > 0 and need_us / unit < MAX_UNITS

    def solve(
        self,
        masks: tuple[Sequence[bool], Sequence[bool]] | None = None,
        split_floors: Sequence[float] = (),
    ) -> list[tuple[float, float]]:
        """The cheapest spans; `value` becomes their objective (inf: the masks allow no plan).

        `masks`: per piece, may it be full / hold the partial (see `bounds`); default: all may.
        `split_floors`: per piece, a lower bound on any plan with its partial there (optional).
        One programme can be solved with several masks: what does not depend on them is shared.
        """
        if masks is not None:
            self.may_fill, self.may_split = masks
        self.split_floors = split_floors
        forward, backward = self._forward_layers(), self._backward_layers()
        best = self._joins(forward, backward)
        self.value = best.value
        if best.value == INF:
            return []
        k = split_point(self, best, forward, backward)
        spans = [span(self.pieces, best.piece, best.action, best.part)]
        before_on = 1 if best.action == LEFT else None
        spans += trace_forward(self, forward, best.piece - 1, best.flag0, before_on, k)
        after_on = 1 if best.action == RIGHT else 0
        spans += trace_backward(self, backward, best.piece + 1, best.flag1, after_on, best.j - k)
        return [s for s in spans if s is not None]

    def _point(self, off: float, on: float) -> Pair:
        """Lists that hold `off` / `on` at zero units and nothing elsewhere."""
        rest = [INF] * self.size
        return [off, *rest], [on, *rest]

    def _end_point(self, off: float, on: float) -> Pair:
        """`_point` reversed, for the backward lists."""
        rest = [INF] * self.size
        return [*rest, off], [*rest, on]

    # --- the two programmes -------------------------------------------------------------------

    def _forward_layers(self) -> list[Layer]:
        """forward[i] is F after piece i (i = 0..n-2); the first piece sets flag 0."""
        pen, first = self.penalty, self.pieces[0]
        off, on = self.start
        cost = first.price_per_kwh * first.length_us
        layer: Layer = ((lower(off, on), self.never), None)
        if self.first < self.need and self.may_fill[0]:
            layer = (layer[0], self._point(INF, min(on[0] + cost, off[0] + pen + cost)))
        layers = [layer]
        grow, never = self._grow, self.never
        for index in range(1, len(self.pieces) - 1):
            idle, full = layer
            step = self.steps[index] if self.may_fill[index] else 0
            # a run of pieces that stay empty leaves the layer as it is: share it
            if step or not settled(idle, never) or not settled(full, never):
                layer = (
                    None if idle is None else grow(idle, index, step),
                    None if full is None else grow(full, index, step),
                )
            layers.append(layer)
        return layers

    def _backward_layers(self) -> list[Layer]:
        """backward[i] is B before piece i (i = 1..n-1; index 0 unused); flag 1: last is full."""
        pen, last = self.penalty, self.pieces[-1]
        cost = last.price_per_kwh * last.length_us
        layer: Layer = (self.end, None)
        if self.last < self.need and self.may_fill[-1]:
            layer = (layer[0], self._end_point(cost + pen, cost))
        layers = [layer]
        for index in range(len(self.pieces) - 2, 0, -1):
            idle, full = layer
            if self.may_fill[index]:
                step, cost = self.steps[index], self.costs[index]
                layer = (
                    None if idle is None else shrink(idle, step, cost, pen),
                    None if full is None else shrink(full, step, cost, pen),
                )
            elif not (passed(idle) and passed(full)):
                # an empty piece passes the idle lists through, whatever the state before it
                layer = (
                    None if idle is None else (idle[0], idle[0]),
                    None if full is None else (full[0], full[0]),
                )
            layers.append(layer)
        layers.append(layers[-1])
        return layers[::-1]

    def _grow(self, pair: Pair, index: int, step: int) -> Pair:
        """F after an interior piece: empty (idle after) or, if `step`, full (charging after)."""
        off, on = pair
        idle = off if on is self.never else lower(off, on)
        if not 0 < step < len(on):
            # never full: barred by the bounds, or alone longer than the need
            return idle, self.never
        cost = self.costs[index]
        restart = cost + self.penalty
        if on is self.never:
            filled = [b + restart for b in off[: len(off) - step]]
        else:
            filled = [
                a + cost if a + cost < b + restart else b + restart
                for a, b in zip(on[: len(on) - step], off, strict=False)
            ]
        return idle, [INF] * step + filled

    # --- joining them at the partial piece ----------------------------------------------------

    def _joins(self, forward: list[Layer], backward: list[Layer]) -> Join:
        """The best way to place the partial piece, over all pieces, flags and sides."""
        best = Join(INF, 0, LEFT, 0.0, 0, 0, 0)
        last, size, pen = len(self.pieces) - 1, self.size, self.penalty
        floors = self.split_floors
        # with lower bounds, the most promising pieces come first and the rest can be cut off
        order = sorted(range(last + 1), key=floors.__getitem__) if floors else range(last + 1)
        for index in order:
            if not self.may_split[index]:
                continue
            if floors and floors[index] > best.value:
                break
            piece = self.pieces[index]
            before = forward[index - 1] if index else (self.start, None)
            after = backward[index + 1] if index < last else (self.end, None)
            idle = self._idle_after(forward, index)
            for flag0, flag1, j, part in self._partials(index):
                left, right = before[flag0], after[flag1]
                if left is None or right is None:
                    continue
                extra = piece.price_per_kwh * part
                if left[1] is not self.never:
                    ends_on = meet(left[1], right[0], j, size) + extra
                    if ends_on < best.value:
                        best = Join(ends_on, index, LEFT, part, flag0, flag1, j)
                idle_left = idle[flag0]
                assert idle_left is not None
                opens = meet(idle_left, right[1], j, size) + extra + pen
                if opens < best.value:
                    best = Join(opens, index, RIGHT, part, flag0, flag1, j)
        return best

    def _idle_after(self, forward: list[Layer], index: int) -> tuple[list[float] | None, ...]:
        """Per flag, the cheapest F before piece `index` whichever side: F[index] left empty."""
        if 0 < index < len(self.pieces) - 1:
            return tuple(None if pair is None else pair[0] for pair in forward[index])
        before = forward[index - 1] if index else (self.start, None)
        return tuple(None if pair is None else lower(*pair) for pair in before)

    def _partials(self, index: int) -> list[tuple[int, int, int, float]]:
        """(flag before, flag after, j = k + R, length) of every partial fill of piece index."""
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
