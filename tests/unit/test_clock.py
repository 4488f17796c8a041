from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from enode_scheduler.clock import FakeClock, ScaledClock, StepClock

T0 = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


async def test_fake_clock_wakes_sleepers_in_order_without_real_waiting() -> None:
    clock = FakeClock(T0)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper("late", 7200)), asyncio.create_task(sleeper("early", 60))]
    await asyncio.sleep(0)
    await clock.advance(3600)
    assert woke == [("early", T0 + timedelta(seconds=60))]
    await clock.advance(3600)
    await asyncio.gather(*tasks)
    assert woke[-1] == ("late", T0 + timedelta(hours=2))
    assert clock.now() == T0 + timedelta(hours=2)


async def test_fake_clock_refuses_naive_and_backwards_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2024, 1, 1))
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match="backwards"):
        await clock.advance_to(T0 - timedelta(seconds=1))


def test_scaled_clocks_with_one_anchor_agree_across_instances() -> None:
    anchor = time.time() - 10.0
    first = ScaledClock(start=T0, speed=600.0, anchor_unix=anchor)
    second = ScaledClock(start=T0, speed=600.0, anchor_unix=anchor)
    gap_s = abs((second.now() - first.now()).total_seconds())
    # both read the same wall clock a moment apart; 600x turns that moment into well under 1 s
    assert gap_s < 1.0
    # ten wall seconds since the anchor are at least 6000 simulated seconds
    assert first.now() >= T0 + timedelta(seconds=6000)


async def test_step_clock_moves_only_when_driven_and_a_wait_passes_no_time() -> None:
    clock = StepClock(T0)
    # a pace slot or a short retry inside one instant goes on at that instant
    await clock.sleep(30.0)
    assert clock.now() == T0
    clock.advance_to(T0 + timedelta(minutes=5))
    assert clock.now() == T0 + timedelta(minutes=5)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(T0)
    with pytest.raises(ValueError, match="aware"):
        StepClock(datetime(2024, 1, 1))
