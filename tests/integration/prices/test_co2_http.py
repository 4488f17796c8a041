"""CO2 sources over real HTTP on loopback: what they ask, what they parse, how they fail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog

from enode_scheduler.exceptions import PriceFormatError, PriceSourceUnavailable
from enode_scheduler.planner.models import IntensitySlot
from enode_scheduler.prices.co2.electricitymaps import ElectricityMapsSource
from enode_scheduler.prices.co2.refresh import IntensityRefreshJob
from enode_scheduler.prices.co2.ukgrid import UkGridSource
from enode_scheduler.testing import InMemoryIntensitySlotStore

from .conftest import Answer, PriceServer, fixture_answer

CO2_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "co2"
T0 = datetime(2024, 3, 5, 18, 10, tzinfo=UTC)


def co2_answer(name: str) -> Answer:
    return fixture_answer(name, folder=CO2_FIXTURES)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_ukgrid_national_asks_from_the_half_hour_and_prefers_actual(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    price_server.responder = lambda path, query: co2_answer("ukgrid_national_fw48h.json")
    source = UkGridSource(http, api_url=price_server.url, region_id=None)
    slots = await source.fetch(start=T0, end=T0 + timedelta(hours=2))
    assert price_server.requests == [("/api/intensity/2024-03-05T18:00Z/fw48h", {})]
    assert [s.g_co2_per_kwh for s in slots] == [204.0, 198.0, 176.0, 150.0, 121.0]
    assert slots[0].start == datetime(2024, 3, 5, 18, 0, tzinfo=UTC)
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert source.zone == "GB"


async def test_ukgrid_regional_reads_the_region_object(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    price_server.responder = lambda path, query: co2_answer("ukgrid_regional_fw48h_region13.json")
    source = UkGridSource(http, api_url=price_server.url + "/", region_id=13)
    slots = await source.fetch(start=T0, end=T0 + timedelta(hours=6))
    assert (
        price_server.requests[0][0] == "/api/regional/intensity/2024-03-05T18:00Z/fw48h/regionid/13"
    )
    assert [s.g_co2_per_kwh for s in slots] == [240.0, 231.0, 205.0]
    assert source.zone == "GB-13"


async def test_electricitymaps_sends_the_token_in_a_header_and_reads_hours(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    price_server.responder = lambda path, query: co2_answer("electricitymaps_forecast_DE.json")
    source = ElectricityMapsSource(
        http, api_url=price_server.url, auth_token="em-secret", zone="DE",
        emission_factor="direct", horizon_h=24,
    )  # fmt: skip
    slots = await source.fetch(start=T0, end=T0 + timedelta(hours=6))
    assert price_server.requests == [
        (
            "/api/v3/carbon-intensity/forecast",
            {"zone": "DE", "emissionFactorType": "direct", "horizonHours": "24"},
        )
    ]
    assert price_server.headers[0]["auth-token"] == "em-secret"
    assert [s.g_co2_per_kwh for s in slots] == [412.0, 398.0, 371.5, 344.0]
    assert slots[-1].end == datetime(2024, 3, 5, 22, 0, tzinfo=UTC)
    assert "em-secret" not in repr(source)


async def test_refused_token_is_unavailable_without_echoing_it(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    price_server.responder = lambda path, query: (
        401,
        b'{"error": "bad token"}',
        "application/json",
    )
    source = ElectricityMapsSource(
        http, api_url=price_server.url, auth_token="em-secret", zone="FR"
    )
    with pytest.raises(PriceSourceUnavailable, match="access refused") as info:
        await source.fetch(start=T0, end=T0 + timedelta(hours=6))
    assert "em-secret" not in str(info.value)


HOUR = {"from": "2024-03-05T18:00Z", "to": "2024-03-05T19:00Z", "intensity": {"forecast": 100}}


def _ukgrid_body(forecast: object) -> bytes:
    period = {"from": "2024-03-05T18:00Z", "to": "2024-03-05T18:30Z",
              "intensity": {"forecast": forecast, "actual": None, "index": "low"}}  # fmt: skip
    return json.dumps({"data": [period]}).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_ukgrid_body(-5), "outside 0..2000"),
        (_ukgrid_body("lots"), "not a number"),
        (_ukgrid_body(None), "must be a finite number"),
        (_ukgrid_body(90000), "outside 0..2000"),
        (b"<html>maintenance</html>", "not JSON"),
        (b'{"data": 3}', "no data list"),
        (json.dumps({"data": [HOUR]}).encode(), "expected 30 minutes"),
    ],
)
async def test_bad_ukgrid_answers_are_refused(
    http: httpx.AsyncClient, price_server: PriceServer, body: bytes, message: str
) -> None:
    price_server.responder = lambda path, query: (200, body, "application/json")
    source = UkGridSource(http, api_url=price_server.url, region_id=None)
    with pytest.raises(PriceFormatError, match=message):
        await source.fetch(start=T0, end=T0 + timedelta(hours=2))


@pytest.mark.parametrize(
    ("forecast", "message"),
    [
        ([{"carbonIntensity": "n/a", "datetime": "2024-03-05T18:00:00Z"}], "not a number"),
        ([{"carbonIntensity": 100, "datetime": "yesterday"}], "not an ISO-8601 time"),
        ([{"carbonIntensity": 100, "datetime": "2024-03-05T18:00:00"}], "without a zone"),
        ([{"carbonIntensity": 1, "datetime": "2024-03-05T18:00:00Z"}] * 2, "repeats"),
        ("none", "no forecast list"),
    ],
)
async def test_bad_electricitymaps_answers_are_refused(
    http: httpx.AsyncClient, price_server: PriceServer, forecast: object, message: str
) -> None:
    body = json.dumps({"zone": "DE", "forecast": forecast}).encode()
    price_server.responder = lambda path, query: (200, body, "application/json")
    source = ElectricityMapsSource(http, api_url=price_server.url, auth_token="t", zone="DE")
    with pytest.raises(PriceFormatError, match=message):
        await source.fetch(start=T0, end=T0 + timedelta(hours=2))


async def test_no_answer_is_unavailable(http: httpx.AsyncClient) -> None:
    source = UkGridSource(http, api_url="http://127.0.0.1:9", region_id=None)
    with pytest.raises(PriceSourceUnavailable, match="no answer"):
        await source.fetch(start=T0, end=T0 + timedelta(hours=2))


async def test_refresh_logs_one_failure_keeps_stored_and_replans_on_change(
    http: httpx.AsyncClient, price_server: PriceServer
) -> None:
    store = InMemoryIntensitySlotStore()
    changed_zones: list[str] = []

    async def on_new(zone: str) -> None:
        changed_zones.append(zone)

    source = UkGridSource(http, api_url=price_server.url, region_id=13)
    job = IntensityRefreshJob(zone=source.zone, source=source, store=store, on_new=on_new)
    price_server.responder = lambda path, query: co2_answer("ukgrid_regional_fw48h_region13.json")
    assert await job.run_once(T0) == 3
    assert await job.run_once(T0) == 0
    assert changed_zones == ["GB-13"]
    price_server.responder = lambda path, query: (503, b"", "text/plain")
    with structlog.testing.capture_logs() as logs:
        assert await job.run_once(T0) == 0
        assert await job.run_once(T0) == 0
    assert [entry["event"] for entry in logs] == ["co2_refresh_failed"]
    kept = await store.get_intensity("GB-13", start=T0, end=T0 + timedelta(hours=2))
    assert len(kept) == 3
    price_server.responder = lambda path, query: co2_answer("ukgrid_regional_fw48h_region13.json")
    with structlog.testing.capture_logs() as logs:
        assert await job.run_once(T0) == 0
    assert [entry["event"] for entry in logs] == ["co2_refresh_recovered"]
    assert job.next_run_after(T0) == T0 + timedelta(minutes=30)
    assert isinstance(kept[0], IntensitySlot)
