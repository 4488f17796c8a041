"""Day-ahead prices from the ENTSO-E Transparency Platform REST API (document type A44).

The answer is a Publication_MarketDocument with one or more TimeSeries, each holding Periods of
Points at PT15M or PT60M. With curve type A03 a Point is left out when its price equals the one
before, so missing positions carry the previous price forward. When there is no data the platform
answers with an Acknowledgement_MarketDocument instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree
import httpx
from defusedxml import DefusedXmlException

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished, PriceSourceUnavailable
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

SOURCE = "ENTSO-E"
_DAY_AHEAD_CONTRACT = "A01"
_RESOLUTION = re.compile(r"^PT(\d+)([MH])$")
_NO_DATA = "no matching data"


class EntsoeSource:
    """PriceSource over the ENTSO-E REST API; `api_url` is configurable for mirrors and tests."""

    def __init__(self, http: httpx.AsyncClient, *, api_url: str, security_token: str) -> None:
        self._http = http
        self._api_url = api_url
        self._token = security_token

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        start, end = as_utc(start), as_utc(end)
        eic = get_zone(zone).eic
        params = {
            "documentType": "A44",
            "in_Domain": eic,
            "out_Domain": eic,
            "contract_MarketAgreement.type": _DAY_AHEAD_CONTRACT,
            "periodStart": _query_time(start),
            "periodEnd": _query_time(end),
            "securityToken": self._token,
        }
        response = await _http.get(self._http, self._api_url, params=params, source=SOURCE)
        # The platform answers "no data" with an acknowledgement, sometimes under a 400.
        if response.status_code not in (200, 400) or not response.content.strip():
            _http.raise_for_status(response, source=SOURCE)
        slots = parse_entsoe_document(response.content)
        return require_some(clip(slots, start=start, end=end), source=SOURCE, start=start, end=end)


def parse_entsoe_document(body: bytes) -> list[Slot]:
    """Parse an A44 answer into validated UTC slots priced per kWh (EUR/MWh / 1000)."""
    root = _parse_xml(body)
    kind = _local_name(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        raise _acknowledgement_error(root)
    if kind != "Publication_MarketDocument":
        raise PriceFormatError(f"{SOURCE}: unexpected document {kind!r}")
    series: list[list[Slot]] = []
    for time_series in root.findall("{*}TimeSeries"):
        contract = time_series.findtext("{*}contract_MarketAgreement.type")
        # Intraday auctions share the document type; only the day-ahead auction is wanted.
        if contract not in (None, _DAY_AHEAD_CONTRACT):
            continue
        curve = (time_series.findtext("{*}curveType") or "A01").strip()
        series.extend(_period_slots(p, curve=curve) for p in time_series.findall("{*}Period"))
    return validate_series(merge_series(series), source=SOURCE)


def expand_positions(points: Mapping[int, float], count: int, *, curve: str) -> list[float]:
    """Dense prices for positions 1..count; curve A03 carries a missing position's price forward."""
    if curve not in ("A01", "A03"):
        raise PriceFormatError(f"{SOURCE}: unsupported curveType {curve!r}")
    if 1 not in points:
        raise PriceFormatError(f"{SOURCE}: period has no point at position 1")
    prices: list[float] = []
    for position in range(1, count + 1):
        if position in points:
            prices.append(points[position])
        elif curve == "A03":
            prices.append(prices[-1])
        else:
            raise PriceFormatError(f"{SOURCE}: curve A01 misses position {position}")
    return prices


def _period_slots(period: Element, *, curve: str) -> list[Slot]:
    start = _parse_time(period.findtext("{*}timeInterval/{*}start"))
    end = _parse_time(period.findtext("{*}timeInterval/{*}end"))
    step = _parse_resolution(period.findtext("{*}resolution"))
    count, remainder = divmod(end - start, step)
    if count <= 0 or remainder:
        raise PriceFormatError(f"{SOURCE}: period {start}..{end} is not a whole number of {step}")
    points = _points(period, count=count)
    prices = expand_positions(points, count, curve=curve)
    return [
        Slot(start + step * i, start + step * (i + 1), price / 1000.0)
        for i, price in enumerate(prices)
    ]


def _points(period: Element, *, count: int) -> dict[int, float]:
    points: dict[int, float] = {}
    for point in period.findall("{*}Point"):
        try:
            position = int(point.findtext("{*}position") or "")
            price = float(point.findtext("{*}price.amount") or "")
        except ValueError as exc:
            raise PriceFormatError(f"{SOURCE}: bad Point: {exc}") from exc
        if not 1 <= position <= count or position in points:
            raise PriceFormatError(f"{SOURCE}: position {position} out of range or repeated")
        points[position] = price
    return points


def _parse_xml(body: bytes) -> Element:
    # Market documents never carry a DTD: defusedxml refuses one outright, which rules out entity
    # expansion (billion laughs) and external entities wherever in the document they hide.
    try:
        return defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PriceFormatError(f"{SOURCE}: unsafe XML refused: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise PriceFormatError(f"{SOURCE}: malformed XML: {exc}") from exc


def _acknowledgement_error(root: Element) -> Exception:
    texts = [r.findtext("{*}text") or "" for r in root.findall("{*}Reason")]
    reason = "; ".join(t.strip() for t in texts if t.strip()) or "no reason given"
    if _NO_DATA in reason.lower():
        return PricesNotPublished(f"{SOURCE}: {reason}")
    return PriceSourceUnavailable(f"{SOURCE}: request refused: {reason}")


def _parse_time(text: str | None) -> datetime:
    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise PriceFormatError(f"{SOURCE}: bad time {text!r}") from exc
    if value.tzinfo is None:
        raise PriceFormatError(f"{SOURCE}: time without a zone {text!r}")
    return value.astimezone(UTC)


def _parse_resolution(text: str | None) -> timedelta:
    match = _RESOLUTION.match((text or "").strip())
    if not match:
        raise PriceFormatError(f"{SOURCE}: unsupported resolution {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    step = timedelta(minutes=amount) if unit == "M" else timedelta(hours=amount)
    if step <= timedelta(0):
        raise PriceFormatError(f"{SOURCE}: unsupported resolution {text!r}")
    return step


def _query_time(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
