from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.clock import FakeClock
from enode_scheduler.enode.backoff import OUTAGE_RECHECK_S, GateBook, Pacer, full_jitter_s
from enode_scheduler.exceptions import EnodeGateClosed

START = datetime(2026, 3, 1, tzinfo=UTC)


def _book(clock: FakeClock, seed: int = 1) -> GateBook:
    return GateBook(
        clock,
        backoff_base_s=2.0,
        backoff_cap_s=600.0,
        retry_after_max_s=3600.0,
        rng=random.Random(seed),
    )


@given(attempt=st.integers(0, 200), seed=st.integers(0, 2**32))
def test_full_jitter_within_bounds(attempt: int, seed: int) -> None:
    delay = full_jitter_s(attempt, base_s=2.0, cap_s=600.0, rng=random.Random(seed))
    assert 0.0 <= delay <= min(600.0, 2.0 * 2**attempt)


def test_full_jitter_spreads_over_its_range() -> None:
    rng = random.Random(7)
    delays = [full_jitter_s(3, base_s=2.0, cap_s=600.0, rng=rng) for _ in range(2000)]
    assert max(delays) > 14.0
    assert min(delays) < 2.0


async def test_retry_after_closes_gate_exactly_that_long() -> None:
    clock = FakeClock(START)
    book = _book(clock)
    assert book.close("u1", "TESLA", retry_after_s=30.0) == 30.0
    with pytest.raises(EnodeGateClosed) as info:
        book.check("u1", "TESLA")
    assert info.value.reopens_in_s == pytest.approx(30.0)
    await clock.advance(29.9)
    with pytest.raises(EnodeGateClosed):
        book.check("u1", "TESLA")
    await clock.advance(0.1)
    book.check("u1", "TESLA")


def test_retry_after_is_clamped() -> None:
    book = _book(FakeClock(START))
    assert book.close("u1", "BMW", retry_after_s=86400.0) == 3600.0
    assert book.reopens_in_s("u1", "BMW") == pytest.approx(3600.0)


def test_other_users_and_vendors_unaffected() -> None:
    book = _book(FakeClock(START))
    book.close("u1", "TESLA", retry_after_s=60.0)
    book.check("u2", "TESLA")
    book.check("u1", "BMW")
    book.check(None, None)
    # A request for an unknown vendor of u1 may touch TESLA, so it waits too.
    with pytest.raises(EnodeGateClosed):
        book.check("u1", None)


def test_user_wide_gate_blocks_every_vendor_of_that_user() -> None:
    book = _book(FakeClock(START))
    book.close("u1", None, retry_after_s=60.0)
    for vendor in ("TESLA", "BMW", None):
        with pytest.raises(EnodeGateClosed):
            book.check("u1", vendor)
    book.check("u2", None)


async def test_backoff_grows_without_retry_after_and_resets_after_success() -> None:
    clock = FakeClock(START)
    ceilings = []
    book = _book(clock, seed=3)
    for attempt in range(12):
        wait = book.close("u1", "AUDI", retry_after_s=None)
        ceiling = min(600.0, 2.0 * 2**attempt)
        assert 0.0 <= wait <= ceiling
        ceilings.append(ceiling)
    assert book.consecutive_429("u1", "AUDI") == 12
    await clock.advance(book.reopens_in_s("u1", "AUDI"))
    book.succeeded("u1", "AUDI")
    assert book.consecutive_429("u1", "AUDI") == 0
    assert book.reopens_in_s("u1", "AUDI") == 0.0
    # After the reset the first delay is bounded by the base again.
    assert book.close("u1", "AUDI", retry_after_s=None) <= 2.0


def test_outage_vendor_is_paused_until_cleared() -> None:
    book = _book(FakeClock(START))
    book.set_paused_vendors({"NISSAN"})
    with pytest.raises(EnodeGateClosed) as info:
        book.check("u1", "NISSAN")
    assert info.value.reopens_in_s == OUTAGE_RECHECK_S
    book.check("u1", "TESLA")
    book.set_paused_vendors(set())
    book.check("u1", "NISSAN")


def test_pacer_spaces_reservations() -> None:
    clock = FakeClock(START)
    pacer = Pacer(clock, max_requests_per_s=4.0)
    waits = [pacer.reserve_s() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


async def test_pacer_does_not_bank_idle_time() -> None:
    clock = FakeClock(START)
    pacer = Pacer(clock, max_requests_per_s=2.0)
    pacer.reserve_s()
    await clock.advance(10.0)
    assert pacer.reserve_s() == 0.0
    assert pacer.reserve_s() == pytest.approx(0.5)


def test_pacer_takes_a_new_rate_for_the_next_reservations() -> None:
    # A replica's share of the fleet's rate changes with the shards it owns.
    clock = FakeClock(START)
    pacer = Pacer(clock, max_requests_per_s=4.0)
    assert pacer.reserve_s() == 0.0
    pacer.set_rate(1.0)
    assert pacer.max_requests_per_s == pytest.approx(1.0)
    assert [pacer.reserve_s() for _ in range(2)] == pytest.approx([0.25, 1.25])


async def test_late_success_does_not_reopen_a_closed_gate() -> None:
    clock = FakeClock(START)
    book = _book(clock)
    book.close("u1", "BMW", retry_after_s=30.0)
    # The answer to a request sent before the 429 arrives afterwards.
    book.succeeded("u1", "BMW")
    with pytest.raises(EnodeGateClosed):
        book.check("u1", "BMW")
    assert book.consecutive_429("u1", "BMW") == 1
    await clock.advance(30.0)
    book.succeeded("u1", "BMW")
    assert book.consecutive_429("u1", "BMW") == 0


async def test_a_closed_gate_survives_a_restart_through_its_stored_record() -> None:
    clock = FakeClock(START)
    book = _book(clock)
    book.close("u1", "TESLA", retry_after_s=1800.0)
    stored = book.take_changes()
    assert [(g.user_id, g.vendor, g.consecutive_429) for g in stored] == [("u1", "TESLA", 1)]
    assert book.take_changes() == []
    await clock.advance(60)
    restarted = _book(clock)  # a new process: its memory is empty
    restarted.restore(stored)
    with pytest.raises(EnodeGateClosed) as info:
        restarted.check("u1", "TESLA")
    assert info.value.reopens_in_s == pytest.approx(1740.0)
    restarted.check("u2", "TESLA")
    # The backoff goes on from where it was, not from the first step.
    assert restarted.consecutive_429("u1", "TESLA") == 1


async def test_requests_at_a_reopened_gate_leave_paced_until_one_succeeds() -> None:
    clock = FakeClock(START)
    book = _book(clock)
    book.close("u1", "TESLA", retry_after_s=30.0)
    book.take_changes()
    await clock.advance(30)
    waits = [book.reopen_wait_s("u1", "TESLA") for _ in range(4)]
    assert waits == [0.0, 1.0, 2.0, 3.0]
    assert book.reopen_wait_s("u2", "TESLA") == 0.0  # other users are not held up
    book.succeeded("u1", "TESLA")
    assert book.reopen_wait_s("u1", "TESLA") == 0.0
    reset = book.take_changes()
    assert [(g.user_id, g.vendor, g.closed_until) for g in reset] == [("u1", "TESLA", None)]
