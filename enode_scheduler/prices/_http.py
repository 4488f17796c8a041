"""The one place in prices/ (and prices/co2/) that talks httpx: a GET whose transport failures
become PriceErrors."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

from enode_scheduler.exceptions import PriceFormatError, PriceSourceUnavailable


async def get(
    http: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str],
    source: str,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET `url`; any answer is returned, no answer raises PriceSourceUnavailable.

    The message names only the source and the error type: query strings (and `headers`) may hold
    a secret token.
    """
    try:
        return await http.get(url, params=dict(params), headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        raise PriceSourceUnavailable(f"{source}: no answer ({type(exc).__name__})") from exc


def raise_for_status(response: httpx.Response, *, source: str) -> None:
    """Raise PriceSourceUnavailable for an error status (the body is not trusted for details)."""
    if response.status_code == 401 or response.status_code == 403:
        raise PriceSourceUnavailable(
            f"{source}: access refused (HTTP {response.status_code}); check the security token"
        )
    if response.status_code >= 400:
        raise PriceSourceUnavailable(f"{source}: HTTP {response.status_code}")


async def get_json(
    http: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str],
    source: str,
    headers: Mapping[str, str] | None = None,
) -> object:
    """GET `url` and decode its JSON body; an error status or a body that is not JSON raises."""
    response = await get(http, url, params=params, source=source, headers=headers)
    raise_for_status(response, source=source)
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise PriceFormatError(f"{source}: answer is not JSON") from exc
