"""The replay source: a real price file's days laid onto any date, same weekday and local time."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enode_scheduler.exceptions import PricesNotPublished
from enode_scheduler.prices.file import PACKAGED_DATA_DIR, FilePriceSource, read_price_csv
from enode_scheduler.prices.replay import ReplayPriceSource

OSLO = ZoneInfo("Europe/Oslo")
NO1 = read_price_csv(PACKAGED_DATA_DIR / "NO1_2025_15min_demo.csv")
SOURCE = ReplayPriceSource()


def fetch(start: datetime, hours: int = 48) -> list:  # type: ignore[type-arg]
    return asyncio.run(SOURCE.fetch("NO1", start=start, end=start + timedelta(hours=hours)))


def file_price(weekday: int, hour: int, minute: int) -> float:
    """The first price the file has at that weekday and local wall time."""
    for slot in NO1:
        local = slot.start.astimezone(OSLO)
        if (local.weekday(), local.hour, local.minute) == (weekday, hour, minute):
            return slot.price_per_kwh
    raise AssertionError("not in the file")


def test_any_day_gets_contiguous_slots_on_the_file_s_grid() -> None:
    start = datetime(2026, 12, 3, 9, 7, tzinfo=UTC)
    slots = fetch(start)
    assert slots[0].start <= start < slots[0].end
    assert slots[-1].end >= start + timedelta(hours=48)
    assert all(a.end == b.start for a, b in itertools.pairwise(slots))
    assert {s.end - s.start for s in slots} == {timedelta(minutes=15)}


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)))
def test_each_slot_has_the_file_s_price_at_the_same_weekday_and_local_time(
    when: datetime,
) -> None:
    start = when.replace(tzinfo=UTC)
    for slot in fetch(start, hours=3):
        local = slot.start.astimezone(OSLO)
        expected = file_price(local.weekday(), local.hour, local.minute)
        assert slot.price_per_kwh == expected


def test_the_file_source_names_the_span_it_covers_instead_of_yet() -> None:
    with pytest.raises(PricesNotPublished) as caught:
        asyncio.run(
            FilePriceSource().fetch(
                "NO1",
                start=datetime(2026, 12, 3, tzinfo=UTC),
                end=datetime(2026, 12, 4, tzinfo=UTC),
            )
        )
    message = str(caught.value)
    assert "yet" not in message
    assert "the file covers 2025-10-20 22:00 .. 2025-10-27 23:00 UTC" in message
    assert "replay" in message
