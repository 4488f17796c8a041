"""RFC 7807 problem answers in Enode's style, and the malformed bodies faults send instead."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

PROBLEM_BASE = "https://docs.enode.io/problems/"
_TYPES = {
    400: ("payload-validation-error", "Payload validation failed"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    429: ("enode-rate-limited", "Rate limited by the vendor"),
    500: ("internal-server-error", "Internal Server Error"),
    502: ("bad-gateway", "Bad Gateway"),
    503: ("service-unavailable", "Service Unavailable"),
    504: ("gateway-timeout", "Gateway Timeout"),
}
# Keys the spec requires somewhere; `missing_fields` drops these first.
_REQUIRED_KEYS = ("id", "lastSeen", "isReachable", "chargingLocationId", "linkState", "vendor")


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    slug, title = _TYPES.get(status, ("error", "Error"))
    body = {"type": PROBLEM_BASE + slug, "title": title, "detail": detail}
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def malformed(response: Response, form: str) -> Response:
    """The same answer with a body that breaks the spec in the way `form` names."""
    body = bytes(response.body)
    if form == "invalid_json" or not body:
        broken = body[: max(1, len(body) // 2)] if body else b'{"id": "'
        return Response(broken, status_code=200, media_type="application/json")
    data = json.loads(body)
    data = _wrong_types(data) if form == "wrong_types" else _drop_required(data)
    return JSONResponse(data, status_code=response.status_code)


def _wrong_types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _wrong_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrong_types(v) for v in value]
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return "n/a"
    if isinstance(value, str):
        return 42
    return {"unexpected": True}


def _drop_required(value: Any) -> Any:
    if isinstance(value, list):
        return [_drop_required(v) for v in value]
    if not isinstance(value, dict):
        return {}
    kept = {k: v for k, v in value.items() if k not in _REQUIRED_KEYS}
    if len(kept) == len(value) and value:
        kept.pop(next(iter(value)))
    return kept
