"""RFC 7807 problem bodies for every error the API returns; no stack trace ever leaves."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from enode_scheduler.exceptions import (
    Conflict,
    EnodeError,
    EnodeRateLimited,
    EnodeSchedulerError,
    InvalidInput,
    LinkError,
    NeedsRelink,
    NotFound,
    StoreError,
)

__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "install_problem_handlers", "problem", "responses"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://github.com/enode-scheduler/enode-scheduler/problems/"
log = structlog.get_logger()


class Problem(BaseModel):
    """An RFC 7807 problem body."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response whose type and title follow from the status."""
    phrase = HTTPStatus(status).phrase
    body = Problem(
        type=_TYPE_BASE + phrase.lower().replace(" ", "-"),
        title=phrase,
        status=status,
        detail=detail,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem bodies for `statuses`."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors()[:20]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        out.append({"field": where, "message": str(err.get("msg", "invalid"))})
    return out


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail, headers=exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return problem(422, f"{first['field']}: {first['message']}", errors=errors)


async def _on_domain(request: Request, exc: Exception) -> JSONResponse:
    headers = None
    if isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    elif isinstance(exc, InvalidInput):
        status = 422
    elif isinstance(exc, LinkError):
        status = 400
    elif isinstance(exc, NeedsRelink):
        status = 409
    elif isinstance(exc, EnodeRateLimited):
        status = 503
        retry = exc.retry_after_s
        headers = {"Retry-After": str(int(retry) + 1)} if retry is not None else None
    elif isinstance(exc, EnodeError):
        status = 502
    else:
        status = 503 if isinstance(exc, StoreError) else 500
    log.warning(
        "api_request_failed", path=request.url.path, status=status, error=type(exc).__name__
    )
    return problem(status, str(exc) if status < 500 else _public_detail(status), headers=headers)


def _public_detail(status: int) -> str:
    if status == 502:
        return "Enode could not be reached or refused the request; try again later."
    if status == 503:
        return "A dependency is unavailable; try again later."
    return "Internal error; the details are in the daemon's log."


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("api_unexpected_error", path=request.url.path, error=type(exc).__name__)
    return problem(500, _public_detail(500))


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error, expected or not, to a problem+json body."""
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(EnodeSchedulerError, _on_domain)
    app.add_exception_handler(Exception, _on_unexpected)
