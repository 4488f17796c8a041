"""Translate HTTP answers and httpx failures into the project's error tree."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from enode_scheduler.exceptions import (
    EnodeApiError,
    EnodeBadRequest,
    EnodeForbidden,
    EnodeNotFound,
    EnodeRateLimited,
    EnodeServerError,
    EnodeTransportError,
    EnodeUnauthorized,
)

_BY_STATUS: dict[int, type[EnodeApiError]] = {
    400: EnodeBadRequest,
    401: EnodeUnauthorized,
    403: EnodeForbidden,
    404: EnodeNotFound,
}


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait per `Retry-After` (delta-seconds or HTTP-date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now=now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until_http_date(text: str, *, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # RFC 9110 HTTP-dates are GMT; the parser leaves "-0000" naive.
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _problem_fields(response: httpx.Response) -> dict[str, str | None]:
    fields: dict[str, str | None] = {"problem_type": None, "title": None, "detail": None}
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        return fields
    if isinstance(body, dict):
        for key, wire in (("problem_type", "type"), ("title", "title"), ("detail", "detail")):
            value = body.get(wire)
            fields[key] = value if isinstance(value, str) else None
    return fields


def api_error(
    response: httpx.Response, *, operation: str, retry_after_s: float | None = None
) -> EnodeApiError:
    """The typed error for an HTTP error answer, with its RFC 7807 body parsed when present."""
    fields = _problem_fields(response)
    summary = fields["title"] or response.reason_phrase or "error"
    message = f"{operation}: HTTP {response.status_code} {summary}"
    if fields["detail"]:
        message += f": {fields['detail']}"
    if response.status_code == 429:
        return EnodeRateLimited(message, retry_after_s=retry_after_s, **fields)
    if response.status_code >= 500:
        return EnodeServerError(message, status=response.status_code, **fields)
    cls = _BY_STATUS.get(response.status_code, EnodeApiError)
    return cls(message, status=response.status_code, **fields)


def transport_error(exc: httpx.HTTPError, *, operation: str) -> EnodeTransportError:
    """A typed error for a request that got no HTTP answer (the token is never in the message)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return EnodeTransportError(f"{operation}: request {kind} ({type(exc).__name__})")
