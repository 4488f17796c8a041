from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from enode_scheduler.clock import FakeClock
from enode_scheduler.exceptions import PriceFormatError, PriceSourceUnavailable
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.file import PACKAGED_DATA_DIR, read_price_csv
from enode_scheduler.prices.normalise import clip
from enode_scheduler.prices.refresh import PriceRefreshJob, RefreshStatus
from enode_scheduler.prices.zones import get_zone
from enode_scheduler.testing import InMemoryPriceSlotStore, InMemoryPriceSource

NO2 = get_zone("NO2")
TODAY = date(2024, 10, 22)  # a Tuesday in CEST: publication 13:00 Brussels = 11:00 UTC
PUBLISHED_AT = datetime(2024, 10, 22, 11, tzinfo=UTC)
REAL = read_price_csv(PACKAGED_DATA_DIR / "NO2_2024_demo.csv")


def day_slots(day: date) -> list[Slot]:
    start, end = NO2.day_bounds(day)
    return clip(REAL, start=start, end=end)


class Harness:
    def __init__(self, now: datetime) -> None:
        self.clock = FakeClock(now)
        self.source = InMemoryPriceSource()
        self.store = InMemoryPriceSlotStore()
        self.replans: list[tuple[str, int]] = []
        self.job = PriceRefreshJob(
            zone="NO2",
            source=self.source,
            store=self.store,
            clock=self.clock,
            retry_interval_s=600,
            retry_max_interval_s=3600,
            on_new_slots=self.replan,
        )

    async def replan(self, zone: str, slots: list[Slot]) -> None:
        self.replans.append((zone, len(slots)))

    async def stored(self, day: date) -> list[Slot]:
        start, end = NO2.day_bounds(day)
        return await self.store.get_slots("NO2", start=start, end=end)


TOMORROW = TODAY + timedelta(days=1)


async def test_not_published_yet_retries_then_stores_tomorrow_once() -> None:
    h = Harness(PUBLISHED_AT + timedelta(minutes=5))
    h.source.publish("NO2", day_slots(TODAY))
    first = await h.job.run_once(h.clock.now())
    assert (first.status, first.changed_slots) == (RefreshStatus.WAITING, 24)
    assert first.next_run_at == h.clock.now() + timedelta(seconds=600)
    assert h.replans == [("NO2", 24)]

    await h.clock.advance_to(first.next_run_at)
    second = await h.job.run_once(h.clock.now())
    assert (second.status, second.changed_slots) == (RefreshStatus.WAITING, 0)
    assert second.next_run_at == h.clock.now() + timedelta(seconds=1200)

    h.source.publish("NO2", day_slots(TOMORROW))
    await h.clock.advance_to(second.next_run_at)
    third = await h.job.run_once(h.clock.now())
    assert (third.status, third.changed_slots) == (RefreshStatus.COMPLETE, 24)
    assert await h.stored(TOMORROW) == day_slots(TOMORROW)
    assert h.replans == [("NO2", 24), ("NO2", 48)]
    assert third.next_run_at == PUBLISHED_AT + timedelta(days=1)

    again = await h.job.run_once(h.clock.now())
    assert (again.status, again.changed_slots) == (RefreshStatus.COMPLETE, 0)
    assert len(h.replans) == 2


async def test_before_publication_it_waits_for_the_publication_time_without_logging() -> None:
    h = Harness(PUBLISHED_AT - timedelta(hours=3))
    h.source.publish("NO2", day_slots(TODAY))
    with capture_logs() as logs:
        outcome = await h.job.run_once(h.clock.now())
    assert (outcome.status, outcome.next_run_at) == (RefreshStatus.WAITING, PUBLISHED_AT)
    assert h.job.next_run_after(h.clock.now()) == PUBLISHED_AT
    assert [e["event"] for e in logs] == ["prices_stored"]


async def test_failure_keeps_what_is_stored_and_logs_once_per_streak() -> None:
    h = Harness(PUBLISHED_AT + timedelta(minutes=1))
    h.source.publish("NO2", day_slots(TODAY))
    await h.job.run_once(h.clock.now())
    h.source.fail_with(PriceSourceUnavailable("ENTSO-E: HTTP 503"))
    delays = []
    with capture_logs() as logs:
        for _ in range(5):
            outcome = await h.job.run_once(h.clock.now())
            assert outcome.status is RefreshStatus.FAILED
            delays.append((outcome.next_run_at - h.clock.now()).total_seconds())
            await h.clock.advance_to(outcome.next_run_at)
        h.source.fail_with(PriceFormatError("ENTSO-E: malformed XML"))
        await h.job.run_once(h.clock.now())
        h.source.fail_with(None)
        h.source.publish("NO2", day_slots(TOMORROW))
        recovered = await h.job.run_once(h.clock.now())
    assert await h.stored(TODAY) == day_slots(TODAY)
    assert delays == [1200, 2400, 3600, 3600, 3600]  # backoff continues the waiting streak
    events = [e["event"] for e in logs if e["log_level"] != "debug"]
    assert events == ["price_refresh_failed", "prices_stored", "price_refresh_recovered"]
    assert recovered.status is RefreshStatus.COMPLETE


async def test_waiting_is_logged_once_per_streak() -> None:
    h = Harness(PUBLISHED_AT + timedelta(minutes=1))
    h.source.publish("NO2", day_slots(TODAY))
    with capture_logs() as logs:
        for _ in range(3):
            outcome = await h.job.run_once(h.clock.now())
            await h.clock.advance_to(outcome.next_run_at)
    assert outcome.status is RefreshStatus.WAITING
    assert [e["event"] for e in logs] == ["prices_stored", "prices_not_published_yet"]
    assert h.source.fetches == 3


async def test_no_prices_for_the_coming_hours_is_a_warning_once_per_day() -> None:
    h = Harness(PUBLISHED_AT + timedelta(minutes=1))
    h.job = PriceRefreshJob(
        zone="NO2", source=h.source, store=h.store, clock=h.clock, source_name="file"
    )
    with capture_logs() as logs:
        for _ in range(4):  # retries within the day: 10, 20, 40 minutes apart
            outcome = await h.job.run_once(h.clock.now())
            await h.clock.advance_to(outcome.next_run_at)
        await h.clock.advance_to(PUBLISHED_AT + timedelta(days=1, minutes=1))
        await h.job.run_once(h.clock.now())
    missing = [e for e in logs if e["event"] == "prices_missing"]
    assert [e["log_level"] for e in missing] == ["warning", "warning"]
    first = missing[0]
    assert first["source"] == "file"
    assert first["missing_from"] == (PUBLISHED_AT + timedelta(minutes=1)).isoformat()
    assert first["missing_until"] == NO2.day_bounds(TOMORROW)[1].isoformat()
    assert "replay" in first["check"]


async def test_prices_for_now_are_no_warning() -> None:
    h = Harness(PUBLISHED_AT + timedelta(minutes=1))
    h.source.publish("NO2", day_slots(TODAY))
    with capture_logs() as logs:
        await h.job.run_once(h.clock.now())
    assert "prices_missing" not in [e["event"] for e in logs]


def test_publication_time_follows_brussels_across_dst() -> None:
    h = Harness(PUBLISHED_AT)
    after_spring = h.job.next_publication_after(datetime(2024, 3, 30, 12, 30, tzinfo=UTC))
    assert after_spring == datetime(2024, 3, 31, 11, tzinfo=UTC)
    assert h.job.next_publication_after(PUBLISHED_AT) == PUBLISHED_AT + timedelta(days=1)
    assert h.job.next_run_after(PUBLISHED_AT - timedelta(seconds=1)) == PUBLISHED_AT


async def test_run_forever_on_a_fake_clock_picks_up_a_late_publication() -> None:
    h = Harness(PUBLISHED_AT)
    h.source.publish("NO2", day_slots(TODAY))
    task = asyncio.create_task(h.job.run_forever())
    try:
        for _ in range(10):  # let the job reach its first sleep
            await asyncio.sleep(0)
        await h.clock.advance(3 * 3600)
        assert await h.stored(TOMORROW) == []
        h.source.publish("NO2", day_slots(TOMORROW))
        await h.clock.advance(3600)
        assert await h.stored(TOMORROW) == day_slots(TOMORROW)
        fetches = h.source.fetches
        await h.clock.advance(3600)
        assert h.source.fetches == fetches  # complete: sleeping until the next publication
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
