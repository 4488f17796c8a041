from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr

from enode_scheduler.config import EntsoeSettings, NordpoolSettings, PricesSettings
from enode_scheduler.exceptions import ConfigError
from enode_scheduler.prices.factory import open_price_source
from enode_scheduler.prices.file import FilePriceSource
from enode_scheduler.prices.fixed import FixedPriceSource
from enode_scheduler.prices.zones import get_zone

from .conftest import PriceServer, fixture_answer


async def test_entsoe_without_token_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"prices\.entsoe\.security_token"):
        async with open_price_source(PricesSettings(source="entsoe")):
            pass


@pytest.mark.parametrize(("kind", "cls"), [("file", FilePriceSource), ("fixed", FixedPriceSource)])
async def test_offline_sources(kind: str, cls: type) -> None:
    async with open_price_source(PricesSettings(source=kind)) as source:  # type: ignore[arg-type]
        assert isinstance(source, cls)


async def test_configured_urls_are_used_with_an_own_client(price_server: PriceServer) -> None:
    price_server.responder = lambda p, q: fixture_answer(
        "entsoe_NO2_2024-03-05_PT60M_A01.xml"
        if "documentType" in q
        else "nordpool_2024-03-05_NO2_SE4.json"
    )
    start, end = get_zone("NO2").day_bounds(date(2024, 3, 5))
    entsoe = PricesSettings(
        source="entsoe",
        entsoe=EntsoeSettings(api_url=price_server.url, security_token=SecretStr("t")),  # type: ignore[arg-type]
    )
    nordpool = PricesSettings(
        source="nordpool", nordpool=NordpoolSettings(api_url=price_server.url)
    )  # type: ignore[arg-type]
    for settings in (entsoe, nordpool):
        async with open_price_source(settings) as source:
            slots = await source.fetch("NO2", start=start, end=end)
        assert len(slots) == 24
    assert len(price_server.requests) == 2


async def test_nordpool_for_a_zone_it_does_not_serve_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"prices\.zone: CH is not a Nord Pool delivery area"):
        async with open_price_source(PricesSettings(source="nordpool", zone="CH")):
            pass
