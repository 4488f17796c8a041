from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished, PriceSourceUnavailable
from enode_scheduler.prices.nordpool import NordpoolSource
from enode_scheduler.prices.zones import get_zone

from .conftest import Answer, PriceServer, fixture_answer

DAYS = {
    "2024-03-05": "nordpool_2024-03-05_NO2_SE4.json",
    "2024-03-06": "nordpool_2024-03-06_NO2_SE4.json",
    "2024-10-27": "nordpool_2024-10-27_NO2_dst25.json",
    "2025-10-26": "nordpool_2025-10-26_NO1_dst100.json",
}


def by_date(path: str, query: dict[str, str]) -> Answer:
    name = DAYS.get(query.get("date", ""))
    return fixture_answer(name) if name else (204, b"", "application/json")


@pytest.fixture
async def source(price_server: PriceServer) -> AsyncIterator[NordpoolSource]:
    price_server.responder = by_date
    async with httpx.AsyncClient(timeout=5) as client:
        yield NordpoolSource(client, api_url=price_server.url, currency="EUR")


async def test_normal_day_asks_for_area_currency_and_cet_date(
    source: NordpoolSource, price_server: PriceServer
) -> None:
    start, end = get_zone("SE4").day_bounds(date(2024, 3, 5))
    slots = await source.fetch("SE4", start=start, end=end)
    assert len(slots) == 24
    assert (slots[0].start, slots[-1].end) == (start, end)
    assert price_server.requests == [
        (
            "/api",
            {"date": "2024-03-05", "market": "DayAhead", "deliveryArea": "SE4", "currency": "EUR"},
        )
    ]


async def test_two_days_join_and_an_unpublished_third_is_left_out(source: NordpoolSource) -> None:
    start, _ = get_zone("NO2").day_bounds(date(2024, 3, 5))
    slots = await source.fetch("NO2", start=start, end=start + timedelta(days=3))
    assert len(slots) == 48
    assert slots[-1].end == start + timedelta(days=2)


@pytest.mark.parametrize(
    ("day", "zone", "count"), [(date(2024, 10, 27), "NO2", 25), (date(2025, 10, 26), "NO1", 100)]
)
async def test_dst_days(source: NordpoolSource, day: date, zone: str, count: int) -> None:
    start, end = get_zone(zone).day_bounds(day)
    slots = await source.fetch(zone, start=start, end=end)
    assert len(slots) == count
    assert slots[-1].end == end


async def test_204_means_not_published(source: NordpoolSource) -> None:
    start, end = get_zone("NO2").day_bounds(date(2026, 1, 1))
    with pytest.raises(PricesNotPublished):
        await source.fetch("NO2", start=start, end=end)


async def test_missing_area_is_a_format_error(source: NordpoolSource) -> None:
    start, end = get_zone("NO1").day_bounds(date(2024, 3, 5))
    with pytest.raises(PriceFormatError, match="delivery area NO1"):
        await source.fetch("NO1", start=start, end=end)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((500, b"oops", "text/plain"), PriceSourceUnavailable),
        ((200, b"<html>", "text/html"), PriceFormatError),
    ],
)
async def test_error_answers(
    source: NordpoolSource, price_server: PriceServer, answer: Answer, error: type[Exception]
) -> None:
    price_server.responder = lambda p, q: answer
    start, end = get_zone("NO2").day_bounds(date(2024, 3, 5))
    with pytest.raises(error):
        await source.fetch("NO2", start=start, end=end)


async def test_deep_nesting_is_a_format_error_not_a_crash(
    source: NordpoolSource, price_server: PriceServer
) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    price_server.responder = lambda p, q: (200, nested, "application/json")
    start, end = get_zone("NO2").day_bounds(date(2024, 3, 5))
    with pytest.raises(PriceFormatError, match="not usable JSON"):
        await source.fetch("NO2", start=start, end=end)


async def test_a_nan_row_is_skipped_and_the_rest_of_the_day_is_used(
    source: NordpoolSource, price_server: PriceServer
) -> None:
    day = json.loads(fixture_answer(DAYS["2024-03-05"])[1])
    day["multiAreaEntries"][7]["entryPerArea"]["NO2"] = float("nan")
    body = json.dumps(day).encode()  # json writes NaN, as a broken producer would
    price_server.responder = lambda p, q: (
        (200, body, "application/json") if q.get("date") == "2024-03-05" else (204, b"", "")
    )
    start, end = get_zone("NO2").day_bounds(date(2024, 3, 5))
    with capture_logs() as logs:
        slots = await source.fetch("NO2", start=start, end=end)
    assert len(slots) == 23
    assert start + timedelta(hours=7) not in {s.start for s in slots}
    assert [e["event"] for e in logs].count("price_rejected") == 1
