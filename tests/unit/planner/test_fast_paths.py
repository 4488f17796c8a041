"""Fast paths against the slow ones they replace: same answers on random and real cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enode_scheduler.planner import Slot
from enode_scheduler.planner.bounds import piece_bounds
from enode_scheduler.planner.cheapest import cheapest_first, merge, objective, place_cheapest
from enode_scheduler.planner.dictionary import exact_with_penalty
from enode_scheduler.planner.lattice import LatticeProgramme
from enode_scheduler.planner.optimize import _bounded_lattice
from enode_scheduler.planner.pieces import Piece
from enode_scheduler.planner.timeline import build_timeline
from enode_scheduler.prices.file import read_price_csv
from tests.unit.planner.test_properties import PRICES, piece_sets

ORIGIN = datetime(2024, 3, 5, 16, 0, tzinfo=UTC)
_US = timedelta(microseconds=1)


@st.composite
def horizons(draw: st.DrawFn) -> tuple[list[Slot], datetime, datetime]:
    minutes = draw(st.sampled_from([[15], [60], [15, 60]]))
    lengths = draw(st.lists(st.sampled_from(minutes), min_size=1, max_size=30))
    slots, moment = [], ORIGIN
    for length in lengths:
        end = moment + timedelta(minutes=length)
        slots.append(Slot(moment, end, draw(PRICES), provisional=draw(st.booleans())))
        moment = end
    now = ORIGIN + timedelta(microseconds=draw(st.integers(0, lengths[0] * 60 * 10**6 - 1)))
    deadline = moment - timedelta(seconds=draw(st.integers(0, lengths[-1] * 60 - 1)))
    return slots, now, max(deadline, now + _US)


@settings(max_examples=150, deadline=None)
@given(horizons())
def test_timeline_matches_slot_by_slot_conversion(
    case: tuple[list[Slot], datetime, datetime],
) -> None:
    slots, now, deadline = case
    timeline = build_timeline(slots, now=now, deadline=deadline, tail_price=None)
    inside = [s for s in slots if s.end > now and s.start < deadline]
    ends = [min(s.end, deadline) for s in inside]
    assert list(timeline.ends_us) == [(end - now) // _US for end in ends]
    assert list(timeline.starts_us) == [0, *((e - now) // _US for e in ends[:-1])]
    assert list(timeline.prices) == [s.price_per_kwh for s in inside]
    assert list(timeline.provisional) == [s.provisional for s in inside]


@settings(max_examples=150, deadline=None)
@given(horizons(), st.floats(0, 1), st.floats(0, 1))
def test_window_cost_matches_piece_by_piece_sum(
    case: tuple[list[Slot], datetime, datetime], a: float, b: float
) -> None:
    slots, now, deadline = case
    timeline = build_timeline(slots, now=now, deadline=deadline, tail_price=None)
    total = timeline.ends_us[-1]
    start, end = sorted((a * total, b * total))
    expected = sum(
        piece.price_per_kwh * max(0.0, min(end, piece.end_us) - max(start, piece.start_us))
        for piece in timeline.pieces
    )
    assert timeline.cost_per_kw(start, end) == pytest.approx(expected / 3.6e9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(piece_sets())
def test_cheapest_first_on_lists_matches_pieces(
    case: tuple[list[Piece], float, float, bool],
) -> None:
    pieces, need, _, _ = case
    columns = ([p.start_us for p in pieces], [p.end_us for p in pieces])
    fast = place_cheapest(*columns, [p.price_per_kwh for p in pieces], need)
    assert fast == merge(cheapest_first(pieces, need))


@settings(max_examples=200, deadline=None)
@given(piece_sets())
def test_bounded_lattice_is_as_good_as_the_full_programmes(
    case: tuple[list[Piece], float, float, bool],
) -> None:
    pieces, need, penalty, free = case
    bounded = merge(_bounded_lattice(pieces, need, penalty, free))
    full = merge(LatticeProgramme(pieces, need, penalty, free).solve())
    general = merge(exact_with_penalty(pieces, need, penalty, free))
    assert sum(e - s for s, e in bounded) == pytest.approx(need, abs=1.0)
    best = objective(pieces, general, penalty, free)
    assert objective(pieces, bounded, penalty, free) == pytest.approx(best, rel=1e-9, abs=1.0)
    assert objective(pieces, full, penalty, free) == pytest.approx(best, rel=1e-9, abs=1.0)


@settings(max_examples=200, deadline=None)
@given(piece_sets())
def test_bounds_never_exceed_an_optimal_plan(case: tuple[list[Piece], float, float, bool]) -> None:
    """Every piece an optimal plan fills (or splits) has a bound at most its objective."""
    pieces, need, penalty, free = case
    spans = merge(LatticeProgramme(pieces, need, penalty, free).solve())
    best = objective(pieces, spans, penalty, free)
    bounds = piece_bounds(pieces, need, penalty, free)
    assert bounds.floor <= best + bounds.slack
    for piece, full, split in zip(pieces, bounds.full, bounds.split, strict=True):
        used = sum(max(0, min(e, piece.end_us) - max(s, piece.start_us)) for s, e in spans)
        if used >= piece.length_us - 1e-6:
            assert full <= best + bounds.slack
        elif used > 0:
            assert split <= best + bounds.slack


def test_bounded_lattice_on_real_48_hour_windows(data_dir: Path) -> None:
    """Real prices (bounds rule out most slots) and flat noisy ones (bounds rule out few)."""
    slots = read_price_csv(data_dir / "prices/NO1_2025_15min.csv")
    noise = random.Random(7)
    flat = [Slot(s.start, s.end, 0.1 + round(noise.uniform(-0.01, 0.01), 4)) for s in slots[:192]]
    windows = [(slots[first : first + 192], first) for first in (0, 500, 1500, 2500)]
    for window, first in [*windows, (flat, 0), (flat, 1)]:
        penalty_eur = 0.05 if first % 1000 == 0 else 0.5
        now = window[0].start + timedelta(minutes=7)
        timeline = build_timeline(window, now=now, deadline=window[-1].end, tail_price=None)
        pieces = list(timeline.pieces)
        need, penalty, free = 4.5 * 3.6e9, penalty_eur * 3.6e9 / 7.4, first % 1000 == 0
        bounded = merge(_bounded_lattice(pieces, need, penalty, free))
        full = merge(LatticeProgramme(pieces, need, penalty, free).solve())
        assert objective(pieces, bounded, penalty, free) == pytest.approx(
            objective(pieces, full, penalty, free), rel=1e-9
        )
