from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished, PriceSourceUnavailable
from enode_scheduler.prices.entsoe import EntsoeSource
from enode_scheduler.prices.zones import get_zone

from .conftest import PriceServer, fixture_answer

TOKEN = "0000-test-token"
_ENTITIES = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "x"}">' for i in range(10))
BILLION_LAUGHS = f"<!DOCTYPE d [{_ENTITIES}]><d>&e9;</d>".encode()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def source(http: httpx.AsyncClient, price_server: PriceServer) -> EntsoeSource:
    return EntsoeSource(http, api_url=price_server.url, security_token=TOKEN)


async def test_fetch_asks_for_a44_by_eic_and_returns_the_day(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    price_server.responder = lambda path, query: fixture_answer(
        "entsoe_NO2_2024-03-05_PT60M_A01.xml"
    )
    start, end = get_zone("NO2").day_bounds(date(2024, 3, 5))
    slots = await source(http, price_server).fetch("NO2", start=start, end=end)
    assert len(slots) == 24
    assert slots[0].price_per_kwh == pytest.approx(0.05621)  # 56.21 EUR/MWh, real NO2 price
    path, query = price_server.requests[0]
    assert path == "/api"
    assert query == {
        "documentType": "A44",
        "in_Domain": "10YNO-2--------T",
        "out_Domain": "10YNO-2--------T",
        "contract_MarketAgreement.type": "A01",
        "periodStart": "202403042300",
        "periodEnd": "202403052300",
        "securityToken": TOKEN,
    }


async def test_fetch_returns_only_the_asked_part(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    price_server.responder = lambda p, q: fixture_answer("entsoe_DE_LU_2024-07-01_3days_multi.xml")
    start = datetime(2024, 7, 1, 22, tzinfo=UTC)
    slots = await source(http, price_server).fetch(
        "DE_LU", start=start, end=start + timedelta(hours=3)
    )
    assert [s.start for s in slots] == [start + timedelta(hours=i) for i in range(3)]


@pytest.mark.parametrize("status", [200, 400])
async def test_acknowledgement_is_not_published(
    http: httpx.AsyncClient, price_server: PriceServer, status: int
) -> None:
    price_server.responder = lambda p, q: fixture_answer(
        "entsoe_acknowledgement_no_data.xml", status=status
    )
    start = datetime(2025, 11, 28, 23, tzinfo=UTC)
    with pytest.raises(PricesNotPublished):
        await source(http, price_server).fetch("NO2", start=start, end=start + timedelta(days=1))


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ((401, b"<html>Unauthorized</html>", "text/html"), PriceSourceUnavailable, "token"),
        ((503, b"busy", "text/plain"), PriceSourceUnavailable, "HTTP 503"),
        (fixture_answer("entsoe_malformed_truncated.xml"), PriceFormatError, "malformed XML"),
        ((200, BILLION_LAUGHS, "text/xml"), PriceFormatError, "unsafe XML refused"),
    ],
    ids=["401", "503", "malformed", "xml-bomb"],
)
async def test_error_answers_are_typed_and_never_show_the_token(
    http: httpx.AsyncClient,
    price_server: PriceServer,
    answer: tuple[int, bytes, str],
    error: type[Exception],
    message: str,
) -> None:
    price_server.responder = lambda p, q: answer
    start = datetime(2024, 3, 4, 23, tzinfo=UTC)
    with pytest.raises(error, match=message) as caught:
        await source(http, price_server).fetch("NO2", start=start, end=start + timedelta(days=1))
    assert TOKEN not in str(caught.value)


async def test_no_server_is_unavailable(http: httpx.AsyncClient) -> None:
    dead = EntsoeSource(http, api_url="http://127.0.0.1:9/api", security_token=TOKEN)
    start = datetime(2024, 3, 4, 23, tzinfo=UTC)
    with pytest.raises(PriceSourceUnavailable, match="no answer") as caught:
        await dead.fetch("NO2", start=start, end=start + timedelta(days=1))
    assert TOKEN not in str(caught.value)
