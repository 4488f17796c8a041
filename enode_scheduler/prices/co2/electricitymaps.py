"""The Electricity Maps API v3 forecast: `GET /v3/carbon-intensity/forecast?zone=DE`, with the
token in the `auth-token` header (a paid endpoint).

Answer: `{"zone", "forecast": [{"carbonIntensity": <g/kWh>, "datetime": "<ISO UTC>"}],
"updatedAt"}`. Each point lasts until the next; the last as long as the one before it (an hour
when it is alone). `emissionFactorType` picks lifecycle or direct emissions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.models import IntensitySlot
from enode_scheduler.prices import _http
from enode_scheduler.prices.co2.values import (
    clip_intensity,
    grams,
    validate_intensity,
)
from enode_scheduler.prices.normalise import as_utc, parse_time

SOURCE = "Electricity Maps"
_END = datetime.max.replace(tzinfo=UTC)


class ElectricityMapsSource:
    """IntensitySource over the Electricity Maps forecast for one zone."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        auth_token: str,
        zone: str,
        emission_factor: str = "lifecycle",
        horizon_h: float = 48.0,
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/v3/carbon-intensity/forecast"
        self._token = auth_token
        self.zone = zone
        self._factor = emission_factor
        self._horizon_h = horizon_h

    def __repr__(self) -> str:
        # never show the token
        return f"ElectricityMapsSource(zone={self.zone!r})"

    async def fetch(self, *, start: datetime, end: datetime) -> list[IntensitySlot]:
        start, end = as_utc(start), as_utc(end)
        params = {
            "zone": self.zone,
            "emissionFactorType": self._factor,
            "horizonHours": str(round(self._horizon_h)),
        }
        payload = await _http.get_json(
            self._http, self._url, params=params, source=SOURCE,
            headers={"auth-token": self._token},
        )  # fmt: skip
        slots = validate_intensity(parse_forecast_json(payload), source=SOURCE)
        return clip_intensity(slots, start=start, end=end)


def parse_forecast_json(payload: object) -> list[IntensitySlot]:
    """The forecast points as slots, sorted; PriceFormatError for a bad point."""
    points = payload.get("forecast") if isinstance(payload, dict) else None
    if not isinstance(points, list):
        raise PriceFormatError(f"{SOURCE}: answer has no forecast list")
    parsed: list[tuple[datetime, float]] = []
    for index, point in enumerate(points):
        where = f"{SOURCE}: forecast[{index}]"
        if not isinstance(point, dict):
            raise PriceFormatError(f"{where}: expected an object")
        value = grams(point.get("carbonIntensity"), where=f"{where}.carbonIntensity")
        parsed.append((parse_time(point.get("datetime"), where), value))
    parsed.sort()
    starts = [start for start, _ in parsed]
    if len(set(starts)) != len(starts):
        raise PriceFormatError(f"{SOURCE}: forecast repeats a datetime")
    # a point lasts the forecast's step: a missing point leaves a gap, not a stretched neighbour
    step = min((b - a for a, b in pairwise(starts)), default=timedelta(hours=1))
    ends = [
        min(start + step, after) for start, after in zip(starts, [*starts[1:], _END], strict=True)
    ]
    return [IntensitySlot(s, e, g) for (s, g), e in zip(parsed, ends, strict=True)]
