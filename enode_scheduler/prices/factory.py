"""Build the configured PriceSource; the only place that chooses between the sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from enode_scheduler.exceptions import ConfigError
from enode_scheduler.ports import PriceSource
from enode_scheduler.prices.entsoe import EntsoeSource
from enode_scheduler.prices.file import FilePriceSource
from enode_scheduler.prices.fixed import FixedPriceSource
from enode_scheduler.prices.nordpool import NordpoolSource
from enode_scheduler.prices.replay import ReplayPriceSource
from enode_scheduler.prices.zones import get_zone

if TYPE_CHECKING:
    from enode_scheduler.config import PricesSettings


@asynccontextmanager
async def open_price_source(
    settings: PricesSettings, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[PriceSource]:
    """Yield the source `settings.source` names; an HTTP client made here is closed on exit.

    Raises ConfigError when the chosen source lacks a required setting.
    """
    if settings.source == "file":
        yield FilePriceSource(settings.file.path)
        return
    if settings.source == "replay":
        yield ReplayPriceSource(settings.file.path)
        return
    if settings.source == "fixed":
        yield FixedPriceSource()
        return
    if settings.source == "entsoe" and settings.entsoe.security_token is None:
        raise ConfigError(
            [
                'prices.entsoe.security_token: required when prices.source = "entsoe" '
                "(or set prices.entsoe.security_token_file)"
            ]
        )
    if settings.source == "nordpool" and get_zone(settings.zone).nordpool_area is None:
        raise ConfigError([f"prices.zone: {settings.zone} is not a Nord Pool delivery area"])
    async with http_client(http, timeout_s=settings.http_timeout_s) as client:
        yield _http_source(settings, client)


def _http_source(settings: PricesSettings, http: httpx.AsyncClient) -> PriceSource:
    if settings.source == "entsoe":
        token = settings.entsoe.security_token
        assert token is not None  # checked by the caller
        return EntsoeSource(
            http, api_url=str(settings.entsoe.api_url), security_token=token.get_secret_value()
        )
    return NordpoolSource(
        http, api_url=str(settings.nordpool.api_url), currency=settings.nordpool.currency
    )


@asynccontextmanager
async def http_client(
    http: httpx.AsyncClient | None, *, timeout_s: float
) -> AsyncIterator[httpx.AsyncClient]:
    """`http` when given (the caller owns it), else a new client closed on exit."""
    if http is not None:
        yield http
        return
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client:
        yield client
