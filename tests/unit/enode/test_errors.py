from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from enode_scheduler.enode.errors import api_error, parse_retry_after, transport_error
from enode_scheduler.exceptions import (
    EnodeApiError,
    EnodeBadRequest,
    EnodeForbidden,
    EnodeNotFound,
    EnodeRateLimited,
    EnodeServerError,
    EnodeUnauthorized,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("Sun, 01 Mar 2026 12:01:30 GMT", 90.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
    ids=[
        "delta",
        "spaces",
        "zero",
        "negative",
        "fraction",
        "date",
        "date-past",
        "junk",
        "empty",
        "absent",
        "nan",
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def _response(
    status: int, body: bytes = b"", content_type: str = "application/problem+json"
) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, EnodeBadRequest),
        (401, EnodeUnauthorized),
        (403, EnodeForbidden),
        (404, EnodeNotFound),
        (409, EnodeApiError),
        (500, EnodeServerError),
        (503, EnodeServerError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[EnodeApiError]) -> None:
    error = api_error(_response(status), operation="get_vehicle")
    assert type(error) is cls
    assert error.status == status
    assert f"HTTP {status}" in str(error)


def test_problem_body_is_parsed() -> None:
    body = (
        b'{"type": "https://docs.enode.io/problems/payload-validation-error",'
        b' "title": "Payload validation failed", "detail": "field[] has an unknown value"}'
    )
    error = api_error(_response(400, body), operation="list_vehicles")
    assert error.problem_type == "https://docs.enode.io/problems/payload-validation-error"
    assert error.title == "Payload validation failed"
    assert error.detail == "field[] has an unknown value"
    assert "unknown value" in str(error)


def test_non_json_error_body_still_gives_typed_error() -> None:
    error = api_error(_response(502, b"<html>bad gateway", "text/html"), operation="x")
    assert isinstance(error, EnodeServerError)
    assert error.title is None


def test_rate_limited_carries_retry_after() -> None:
    error = api_error(_response(429), operation="x", retry_after_s=30.0)
    assert isinstance(error, EnodeRateLimited)
    assert error.retry_after_s == 30.0
    assert error.status == 429


def test_transport_error_names_timeouts() -> None:
    error = transport_error(httpx.ReadTimeout("slow"), operation="get_vehicle")
    assert "timed out" in str(error)
    assert "get_vehicle" in str(error)
