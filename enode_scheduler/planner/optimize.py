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
``r = need - (sum of the full pieces)``. `dictionary.exact_with_penalty` is a programme in time
order over the states (partial used yet?, charging at the boundary?, full length so far / full
length still to come). Lengths are exact integer sums of piece lengths, so no discretisation
error enters. Before the partial the state holds the length charged so far; when the partial is
placed we pick the length ``R`` that the later full pieces will add (an achievable subset sum of
the later pieces with ``0 < need - done - R <= piece``), and the state then counts ``R`` down
to zero. This dictionary form is the general fallback (any slot lengths), with a branch-and-bound
cut against the cheapest-first plan.

The fast path, for 15/60-minute slots. The lengths are few (multiples of 15 minutes plus the
clipped first/last piece), so `lattice.LatticeProgramme` runs the same search as lists indexed by
15-minute units, split in the middle: a forward programme over full/empty pieces before the
partial, a backward one after it, joined at the partial piece (see its docstring). Most pieces
are too expensive to matter, and `bounds` proves which: a Lagrangian relaxation gives, for every
piece, a lower bound on any plan that fills it (or holds the partial there). A piece whose bound
exceeds the objective of some real plan is in no optimal plan, so the lattice treats it as empty.
`_bounded_lattice` bets on an upper bound near the relaxation's floor, and a run whose best plan is
within its bet is optimal (every piece an optimum could use was allowed); otherwise the bet grows,
capped by the best real plan seen. The answer is therefore exact, however the bet turns out; the
bet only decides how many pieces each run looks at.
Neighbouring pieces with one price are joined first: the lemma only needs price changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from enode_scheduler.planner.bounds import PieceBounds, piece_bounds
from enode_scheduler.planner.cheapest import cheapest_first, merge, objective, place_cheapest
from enode_scheduler.planner.dictionary import exact_with_penalty
from enode_scheduler.planner.lattice import INF, LatticeProgramme
from enode_scheduler.planner.pieces import Piece

__all__ = ["merge", "place", "place_cheapest"]

# Bounded lattice runs with growing bets before falling back to the cheapest-first bound.
_BETS = 8
# A bet that lets more than 1/_WIDE of the pieces be full is not worth a run of its own.
_WIDE = 3


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
        return merge(cheapest_first(pieces, need_us))
    pieces = _join_equal_prices(pieces)
    if LatticeProgramme.fits(pieces, need_us):
        return merge(_bounded_lattice(pieces, need_us, penalty, free_start))
    return merge(exact_with_penalty(pieces, need_us, penalty, free_start))


def _bounded_lattice(
    pieces: Sequence[Piece], need_us: float, penalty: float, free_start: bool
) -> list[tuple[float, float]]:
    """The lattice programme over only the pieces that `bounds` cannot rule out.

    Runs bet that the optimum is within `bet` of the Lagrangian floor, using the few pieces that
    allows. If the best plan of a run is within its bet, every piece an optimal plan could use
    was in the run, so it is optimal. Otherwise the bet doubles, capped by the best plan found
    so far (a real plan, so the optimum is no worse: a run with that cap as its bet is exact).
    When the bounds are weak (flat prices) a bet allows most pieces anyway; then the run with the
    cap comes at once (the cheapest-first plan is the cap before any run), so that such a plan
    costs about one full run. After a few bets that cap is also the bound of last resort.
    """
    bounds = piece_bounds(pieces, need_us, penalty, free_start)
    step = penalty / 8
    upper = INF
    run = LatticeProgramme(pieces, need_us, penalty, free_start)
    masks = bounds.masks(bounds.floor + step)
    if sum(masks[0]) * _WIDE > len(pieces):
        return _proven_run(run, bounds, INF)
    for _ in range(_BETS):
        bet = min(bounds.floor + step, upper)
        spans = run.solve(masks, bounds.split_floors())
        if run.value <= bet:
            return spans
        # the run's plan is a real plan: no optimum is worse
        upper = min(upper, run.value)
        step *= 2
        masks = bounds.masks(min(bounds.floor + step, upper))
        if upper < INF and sum(masks[0]) * _WIDE > len(pieces):
            break
    return _proven_run(run, bounds, upper)


def _proven_run(
    run: LatticeProgramme, bounds: PieceBounds, upper: float
) -> list[tuple[float, float]]:
    """The lattice over the pieces that a plan of objective `upper` (or cheapest-first) allows."""
    pieces, need_us, penalty = run.pieces, run.need, run.penalty
    incumbent = merge(cheapest_first(pieces, need_us))
    upper = min(upper, objective(pieces, incumbent, penalty, run.free_start))
    spans = run.solve(bounds.masks(upper), bounds.split_floors())
    if run.value < INF:
        return spans
    # unreachable in exact arithmetic; the unmasked run is the safe answer to float surprises
    everywhere = [True] * len(pieces)
    return run.solve((everywhere, everywhere))


def _join_equal_prices(pieces: Sequence[Piece]) -> list[Piece]:
    """Join neighbours with one price: the lemma below only needs price changes as boundaries."""
    out = [pieces[0]]
    for piece in pieces[1:]:
        if piece.price_per_kwh == out[-1].price_per_kwh:
            out[-1] = Piece(out[-1].start_us, piece.end_us, piece.price_per_kwh)
        else:
            out.append(piece)
    return out
