from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.normalise import clip, merge_series, validate_series

T0 = datetime(2025, 9, 30, 22, tzinfo=UTC)
Q = timedelta(minutes=15)
H = timedelta(hours=1)


def run(start: datetime, steps: list[timedelta], prices: list[float] | None = None) -> list[Slot]:
    slots, at = [], start
    for i, step in enumerate(steps):
        slots.append(Slot(at, at + step, prices[i] if prices else float(i)))
        at += step
    return slots


def test_a_day_may_mix_hours_and_quarters() -> None:
    slots = run(T0, [H, H, Q, Q, Q, Q, H])
    assert validate_series(slots, source="t") == slots


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        (run(T0, [timedelta(minutes=30)]), "expected 15 or 60 minutes"),
        ([Slot(T0, T0 + H, 1.0), Slot(T0 + 2 * H, T0 + 3 * H, 1.0)], "gap between"),
        ([Slot(T0 + H, T0 + 2 * H, 1.0), Slot(T0, T0 + H, 1.0)], "overlap or disorder"),
        ([Slot(T0.astimezone(timezone(H)), T0 + H, 1.0)], "not in UTC"),
    ],
    ids=["30min", "gap", "disorder", "not-utc"],
)
def test_invalid_series_are_refused(slots: list[Slot], message: str) -> None:
    with pytest.raises(PriceFormatError, match=message):
        validate_series(slots, source="t")


def test_quarters_win_over_the_hour_they_overlap_and_the_rest_keeps_the_hour_price() -> None:
    hours = run(T0, [H, H], [10.0, 20.0])
    quarters = run(T0 + H, [Q, Q], [1.0, 2.0])
    merged = merge_series([hours, quarters])
    assert [(s.start - T0, s.end - s.start, s.price_per_kwh) for s in merged] == [
        (timedelta(0), H, 10.0),
        (H, Q, 1.0),
        (H + Q, Q, 2.0),
        (H + 2 * Q, Q, 20.0),
        (H + 3 * Q, Q, 20.0),
    ]
    assert validate_series(merged, source="t") == merged


def test_clip_keeps_whole_overlapping_slots() -> None:
    slots = run(T0, [H, H, H])
    assert clip(slots, start=T0 + Q, end=T0 + H + Q) == slots[:2]


steps = st.lists(st.sampled_from([Q, H]), min_size=1, max_size=50)


@given(steps, st.integers(0, 95))
def test_any_mix_of_steps_is_valid_and_merging_it_with_itself_changes_nothing(
    chosen: list[timedelta], offset_quarters: int
) -> None:
    slots = run(T0 + offset_quarters * Q, chosen)
    assert validate_series(slots, source="t") == slots
    assert merge_series([slots, slots]) == slots


@given(st.lists(st.floats(-500, 4000, allow_nan=False), min_size=1, max_size=24))
def test_hourly_series_under_a_full_quarter_series_is_replaced(prices: list[float]) -> None:
    hours = run(T0, [H] * len(prices), prices)
    quarters = run(T0, [Q] * (4 * len(prices)))
    assert merge_series([hours, quarters]) == quarters


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (float("nan"), "not finite"),
        (float("inf"), "not finite"),
        (-float("inf"), "not finite"),
        (100.001, "outside"),  # 100,001 per MWh
        (-10.5, "outside"),
    ],
)
def test_an_impossible_price_drops_its_slot_with_one_line_and_keeps_the_rest(
    bad: float, reason: str
) -> None:
    slots = run(T0, [H] * 24, prices=[0.1] * 24)
    slots[5] = Slot(slots[5].start, slots[5].end, bad)
    with capture_logs() as logs:
        kept = validate_series(slots, source="Nord Pool")
    assert kept == slots[:5] + slots[6:]
    (line,) = [e for e in logs if e["event"] == "price_rejected"]
    assert line["source"] == "Nord Pool"
    assert line["slot_start"] == slots[5].start.isoformat()
    assert reason in line["reason"]


@given(price=st.floats(allow_nan=True, allow_infinity=True))
def test_only_finite_prices_within_the_bounds_are_kept(price: float) -> None:
    slots = [Slot(T0, T0 + H, price)]
    kept = validate_series(slots, source="t")
    assert kept == (slots if math.isfinite(price) and -10 <= price <= 100 else [])


def test_extreme_real_prices_are_kept() -> None:
    # The markets' own limits (e.g. -500 and 4,000 EUR/MWh) are real prices, not faults.
    slots = run(T0, [H, H], prices=[-0.5, 4.0])
    assert validate_series(slots, source="t") == slots
