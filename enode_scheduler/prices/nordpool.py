"""Day-ahead prices from Nord Pool's public data portal (`DayAheadPrices`, one CET day per call).

The answer lists `multiAreaEntries`, each with `deliveryStart`, `deliveryEnd` (UTC) and
`entryPerArea` (area -> price per MWh in the asked currency). Before publication the portal answers
204 No Content.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from enode_scheduler.exceptions import InvalidInput, PriceFormatError
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices import _http
from enode_scheduler.prices.normalise import (
    as_utc,
    clip,
    merge_series,
    require_some,
    validate_series,
)
from enode_scheduler.prices.zones import get_zone

SOURCE = "Nord Pool"
# The portal's `date` is the delivery day in CET/CEST, whatever the area's own time zone.
_DELIVERY_TZ = ZoneInfo("Europe/Brussels")


class NordpoolSource:
    """PriceSource over Nord Pool's day-ahead JSON; prices in `currency` per kWh."""

    def __init__(self, http: httpx.AsyncClient, *, api_url: str, currency: str) -> None:
        self._http = http
        self._api_url = api_url
        self.currency = currency.upper()

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        start, end = as_utc(start), as_utc(end)
        area = get_zone(zone).nordpool_area
        if area is None:
            raise InvalidInput(f"price zone {zone!r} is not a Nord Pool delivery area")
        days: list[list[Slot]] = []
        for day in delivery_days(start, end):
            slots = await self._fetch_day(day, area=area)
            if not slots:
                # Days are published in order: a missing day means later ones are missing too.
                break
            days.append(slots)
        slots = validate_series(merge_series(days), source=SOURCE)
        return require_some(clip(slots, start=start, end=end), source=SOURCE, start=start, end=end)

    async def _fetch_day(self, day: date, *, area: str) -> list[Slot]:
        params = {
            "date": day.isoformat(),
            "market": "DayAhead",
            "deliveryArea": area,
            "currency": self.currency,
        }
        response = await _http.get(self._http, self._api_url, params=params, source=SOURCE)
        if response.status_code == 204 or (response.is_success and not response.content.strip()):
            return []
        _http.raise_for_status(response, source=SOURCE)
        try:
            payload = json.loads(response.content)
        except (ValueError, RecursionError) as exc:
            # RecursionError: nesting deeper than the parser goes is not an answer either.
            raise PriceFormatError(f"{SOURCE}: answer for {day} is not usable JSON") from exc
        return parse_nordpool_json(payload, area=area, currency=self.currency)


def delivery_days(start: datetime, end: datetime) -> list[date]:
    """The CET delivery days that overlap [start, end)."""
    first = start.astimezone(_DELIVERY_TZ).date()
    last = (end - timedelta(microseconds=1)).astimezone(_DELIVERY_TZ).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def parse_nordpool_json(payload: object, *, area: str, currency: str | None = None) -> list[Slot]:
    """Slots priced per kWh for `area` from one DayAheadPrices answer, sorted by start."""
    if not isinstance(payload, dict) or not isinstance(payload.get("multiAreaEntries"), list):
        raise PriceFormatError(f"{SOURCE}: answer has no multiAreaEntries list")
    answered = payload.get("currency")
    if currency is not None and answered is not None and answered != currency:
        raise PriceFormatError(f"{SOURCE}: asked for {currency}, answer is in {answered}")
    entries = payload["multiAreaEntries"]
    if not all(isinstance(e, dict) for e in entries):
        raise PriceFormatError(f"{SOURCE}: an entry of multiAreaEntries is not an object")
    if entries and not any(area in _prices_of(e) for e in entries):
        raise PriceFormatError(f"{SOURCE}: answer has no prices for delivery area {area}")
    slots = [_entry_slot(entry, area=area) for entry in entries]
    return sorted(slots, key=lambda s: s.start)


def _prices_of(entry: dict[str, object]) -> dict[str, object]:
    prices = entry.get("entryPerArea")
    if prices is not None and not isinstance(prices, dict):
        raise PriceFormatError(
            f"{SOURCE}: entryPerArea at {str(entry.get('deliveryStart'))[:40]!r} is not an object"
        )
    return prices or {}


def _entry_slot(entry: dict[str, object], *, area: str) -> Slot:
    price = _prices_of(entry).get(area)
    # A row without a usable number keeps its place as NaN: normalisation drops it with a log
    # line, and the rest of the day is used.
    number = price if isinstance(price, int | float) and not isinstance(price, bool) else math.nan
    return Slot(_time(entry, "deliveryStart"), _time(entry, "deliveryEnd"), number / 1000.0)


def _time(entry: dict[str, object], key: str) -> datetime:
    text = entry.get(key)
    if not isinstance(text, str):
        raise PriceFormatError(f"{SOURCE}: {key} is not a string: {str(text)[:40]!r}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PriceFormatError(f"{SOURCE}: bad {key} {text[:40]!r}") from exc
    if value.tzinfo is None:
        raise PriceFormatError(f"{SOURCE}: {key} without a zone: {text!r}")
    return value.astimezone(UTC)
