"""The one place in prices/ that talks httpx: a GET whose transport failures become PriceErrors."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from enode_scheduler.exceptions import PriceSourceUnavailable


async def get(
    http: httpx.AsyncClient, url: str, *, params: Mapping[str, str], source: str
) -> httpx.Response:
    """GET `url`; any answer is returned, no answer raises PriceSourceUnavailable.

    The message names only the source and the error type: query strings may hold a secret token.
    """
    try:
        return await http.get(url, params=dict(params))
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
