from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.prices.fixed import FixedPriceSource
from enode_scheduler.prices.zones import get_zone


@pytest.mark.parametrize(
    ("name", "eic", "area"),
    [
        ("NO1", "10YNO-1--------2", "NO1"),
        ("de-lu", "10Y1001A1001A82H", "GER"),
        ("se4", "10Y1001A1001A47J", "SE4"),
    ],
)
def test_zone_names_map_to_eic_and_area(name: str, eic: str, area: str) -> None:
    zone = get_zone(name)
    assert (zone.eic, zone.nordpool_area) == (eic, area)


def test_unknown_zone_is_bad_input_listing_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"unknown price zone 'XX'.*NO1"):
        get_zone("XX")


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2024, 3, 31), 23), (date(2024, 10, 27), 25), (date(2024, 6, 1), 24)]
)
def test_local_days_have_23_24_or_25_hours(day: date, hours: int) -> None:
    start, end = get_zone("NO2").day_bounds(day)
    assert end - start == timedelta(hours=hours)
    assert start.tzinfo is UTC or start.utcoffset() == timedelta(0)


async def test_fixed_source_gives_zero_spot_hours_covering_the_interval() -> None:
    start = datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
    slots = await FixedPriceSource().fetch("NO2", start=start, end=start + timedelta(hours=2))
    assert [s.start.hour for s in slots] == [10, 11, 12]
    assert {s.price_per_kwh for s in slots} == {0.0}
    assert slots[0].start == datetime(2024, 3, 5, 10, tzinfo=UTC)
