"""The sim's load sums: peak and time above a threshold, against a brute-force sampling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.sim.power import ChargeSpan, extend, location_load

T0 = datetime(2026, 1, 5, tzinfo=UTC)

spans_st = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 30), st.sampled_from([3.7, 7.4, 11.0])),
    max_size=8,
)


@given(spans_st, st.sampled_from([0.0, 7.4, 11.0, 14.8]))
def test_matches_minute_sampling(raw: list[tuple[int, int, float]], above: float) -> None:
    spans = [
        ChargeSpan(T0 + timedelta(minutes=a), T0 + timedelta(minutes=a + n), kw, "x")
        for a, n, kw in raw
    ]
    peak, seconds = location_load(spans, above_kw=above)
    levels = [sum(kw for a, n, kw in raw if a <= minute < a + n) for minute in range(0, 100)]
    assert peak == max(levels, default=0.0) or abs(peak - max(levels)) < 1e-6
    assert seconds == 60 * sum(1 for level in levels if level > above + 1e-6)


def test_a_hand_over_at_one_instant_is_not_an_overlap() -> None:
    one = ChargeSpan(T0, T0 + timedelta(hours=1), 11.0, "x")
    two = ChargeSpan(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 11.0, "x")
    assert location_load([two, one], above_kw=11.0) == (11.0, 0.0)


def test_extend_merges_a_continued_span_only() -> None:
    spans: list[ChargeSpan] = []
    extend(spans, ChargeSpan(T0, T0 + timedelta(minutes=5), 7.4, "x"))
    extend(spans, ChargeSpan(T0 + timedelta(minutes=5), T0 + timedelta(minutes=9), 7.4, "x"))
    extend(spans, ChargeSpan(T0 + timedelta(minutes=9), T0 + timedelta(minutes=9), 7.4, "x"))
    extend(spans, ChargeSpan(T0 + timedelta(minutes=9), T0 + timedelta(minutes=12), 7.4, "y"))
    assert [(s.start, s.end, s.location_id) for s in spans] == [
        (T0, T0 + timedelta(minutes=9), "x"),
        (T0 + timedelta(minutes=9), T0 + timedelta(minutes=12), "y"),
    ]
