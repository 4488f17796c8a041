"""Build the configured IntensitySource; the only place that chooses between the CO2 sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from enode_scheduler.ports import IntensitySource
from enode_scheduler.prices.co2.electricitymaps import ElectricityMapsSource
from enode_scheduler.prices.co2.file import FileIntensitySource
from enode_scheduler.prices.co2.ukgrid import UkGridSource
from enode_scheduler.prices.factory import http_client

if TYPE_CHECKING:
    from enode_scheduler.config import Co2Settings

# Electricity Maps zone names of the bidding zones where they differ.
_EMAPS_ZONES = {"DE_LU": "DE"}


def electricitymaps_zone(price_zone: str) -> str:
    """The Electricity Maps zone of a bidding zone: DE_LU -> DE, NO2 -> NO-NO2, FR -> FR."""
    key = price_zone.upper().replace("-", "_")
    if key in _EMAPS_ZONES:
        return _EMAPS_ZONES[key]
    if key[:2] in ("NO", "SE", "DK") and key[2:].isdigit():
        return f"{key[:2]}-{key}"
    return key


def intensity_zone(settings: Co2Settings, *, price_zone: str) -> str:
    """The name stored intensity is kept under (one per configured region)."""
    if settings.source == "ukgrid":
        region = settings.ukgrid.region_id
        return "GB" if region is None else f"GB-{region}"
    if settings.source == "electricitymaps":
        return settings.electricitymaps.zone or electricitymaps_zone(price_zone)
    return f"file:{price_zone}"


@asynccontextmanager
async def open_intensity_source(
    settings: Co2Settings, *, price_zone: str, http: httpx.AsyncClient | None = None
) -> AsyncIterator[IntensitySource | None]:
    """Yield the source `settings.source` names (None for "none"); a client made here is closed.

    The settings' cross-checks guarantee the token and file path that a source needs.
    """
    if settings.source == "none":
        yield None
        return
    if settings.source == "file":
        assert settings.file.path is not None  # checked by the settings
        yield FileIntensitySource(settings.file.path, factor=settings.emission_factor)
        return
    async with http_client(http, timeout_s=settings.http_timeout_s) as client:
        if settings.source == "ukgrid":
            yield UkGridSource(
                client, api_url=str(settings.ukgrid.api_url), region_id=settings.ukgrid.region_id
            )
            return
        token = settings.electricitymaps.auth_token
        assert token is not None  # checked by the settings
        yield ElectricityMapsSource(
            client,
            api_url=str(settings.electricitymaps.api_url),
            auth_token=token.get_secret_value(),
            zone=intensity_zone(settings, price_zone=price_zone),
            emission_factor=settings.emission_factor,
            horizon_h=settings.horizon_h,
        )
