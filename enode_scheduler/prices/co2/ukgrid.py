"""Great Britain's Carbon Intensity API (NESO): a public 48 h forecast in half hours, no key.

National: `GET /intensity/{from}/fw48h` -> `{"data": [{"from", "to", "intensity": {"forecast",
"actual", "index"}}]}`. Regional: `GET /regional/intensity/{from}/fw48h/regionid/{id}` -> `{"data":
{"regionid", "shortname", "data": [periods]}}` (some answers wrap that object in a list). Times
look like `2018-01-20T12:00Z`. A settled `actual` is used where present, else the `forecast`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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

SOURCE = "UK Carbon Intensity"
_HALF_HOUR = timedelta(minutes=30)


class UkGridSource:
    """IntensitySource over the GB Carbon Intensity API, national or for one region."""

    def __init__(self, http: httpx.AsyncClient, *, api_url: str, region_id: int | None) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self.region_id = region_id

    @property
    def zone(self) -> str:
        """The name intensity is stored under."""
        return "GB" if self.region_id is None else f"GB-{self.region_id}"

    async def fetch(self, *, start: datetime, end: datetime) -> list[IntensitySlot]:
        start, end = as_utc(start), as_utc(end)
        # the API takes minute precision; ask from the half hour that holds `start`
        since = start.replace(minute=start.minute - start.minute % 30, second=0, microsecond=0)
        stamp = since.strftime("%Y-%m-%dT%H:%MZ")
        path = f"/intensity/{stamp}/fw48h"
        if self.region_id is not None:
            path = f"/regional/intensity/{stamp}/fw48h/regionid/{self.region_id}"
        payload = await _http.get_json(self._http, self._api_url + path, params={}, source=SOURCE)
        slots = validate_intensity(parse_ukgrid_json(payload), source=SOURCE)
        return clip_intensity(slots, start=start, end=end)


def parse_ukgrid_json(payload: object) -> list[IntensitySlot]:
    """Periods of a national or regional answer, sorted; PriceFormatError for a bad one."""
    periods = _periods(payload)
    out = []
    for index, period in enumerate(periods):
        where = f"{SOURCE}: data[{index}]"
        if not isinstance(period, dict) or not isinstance(period.get("intensity"), dict):
            raise PriceFormatError(f"{where}: expected an object with an intensity")
        start, end = parse_time(period.get("from"), where), parse_time(period.get("to"), where)
        if end - start != _HALF_HOUR:
            raise PriceFormatError(f"{where}: lasts {end - start}, expected 30 minutes")
        intensity = period["intensity"]
        value = intensity.get("actual")
        if value is None:
            value = intensity.get("forecast")
        out.append(IntensitySlot(start, end, grams(value, where=f"{where}.intensity")))
    return sorted(out, key=lambda s: s.start)


def _periods(payload: object) -> list[Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict) and "regionid" in data[0]:
        data = data[0]
    if isinstance(data, dict):
        data = data.get("data")
    if not isinstance(data, list):
        raise PriceFormatError(f"{SOURCE}: answer has no data list")
    return data
