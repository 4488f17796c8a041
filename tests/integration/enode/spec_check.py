"""Validate every request the client sends and every answer it gets against the corrected spec.

A transport wrapper in test code only: the client under test is unchanged.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response.exceptions import MissingData
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.integration.enode_spec import SPEC_FILE

# The spec's only server; requests to the sim are checked as if sent there.
SPEC_HOST = "https://api.test.enode.io"
NOT_IN_SPEC = ("/oauth2/", "/_sim/")


class _SpecRequest:
    def __init__(self, request: httpx.Request, body: bytes) -> None:
        self._request = request
        self._body = body
        query = ImmutableMultiDict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        self.parameters = RequestParameters(
            query=query,
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    host_url = SPEC_HOST

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._body or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class _SpecResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "application/json").lower()

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))


@dataclass
class SpecChecker:
    """Collects spec violations; `checked` counts exchanges validated."""

    openapi: OpenAPI
    document: dict[str, Any]
    api_prefix: str
    violations: list[str] = field(default_factory=list)
    checked: int = 0

    @classmethod
    def load(cls, api_url: str, spec_file: Path = SPEC_FILE) -> SpecChecker:
        openapi, document = _load_spec(spec_file)
        return cls(openapi, document, api_url.rstrip("/"))

    def _operation(self, method: str, path: str) -> dict[str, Any] | None:
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method in item:
                return item[method]  # type: ignore[no-any-return]
        return None

    def _check_bearer(self, request: httpx.Request, where: str) -> None:
        # openapi-core cannot check oauth2 schemes, so check the Bearer header here.
        operation = self._operation(request.method.lower(), request.url.path)
        if operation is None or not operation.get("security"):
            return
        value = request.headers.get("authorization", "")
        if not value.startswith("Bearer ") or len(value) <= len("Bearer "):
            self.violations.append(f"request {where}: no Bearer token")

    def check(self, request: httpx.Request, body: bytes, response: httpx.Response) -> None:
        if not str(request.url).startswith(self.api_prefix):
            return
        if request.url.path.startswith(NOT_IN_SPEC):
            return  # OAuth lives on its own host at Enode; the sim serves it beside the API
        self.checked += 1
        spec_request = _SpecRequest(request, body)
        where = f"{request.method} {request.url.path}"
        self._check_bearer(request, where)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                self.openapi.validate_request(spec_request)
            except Exception as exc:  # openapi-core raises many types; keep them all
                self.violations.append(f"request {where}: {_explain(exc)}")
            self._check_response(spec_request, response, where)

    def _check_response(
        self, spec_request: _SpecRequest, response: httpx.Response, where: str
    ) -> None:
        status = response.status_code
        if status >= 400 and status != 503:
            return  # the spec declares no error answers (only RFC 7807 prose)
        try:
            self.openapi.validate_response(spec_request, _SpecResponse(response))
        except MissingData:
            # `content: {}` declares no body; openapi-core still wants one.
            if status != 204 or response.content:
                self.violations.append(f"response {where} {status}: missing body")
        except Exception as exc:
            self.violations.append(f"response {where} {status}: {_explain(exc)}")


@functools.cache
def _load_spec(path: Path) -> tuple[OpenAPI, dict[str, Any]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return OpenAPI.from_dict(document), document


def _explain(exc: BaseException) -> str:
    causes: list[str] = [repr(exc)]
    inner: Any = exc.__cause__
    while inner is not None and len(causes) < 4:
        causes.append(repr(inner)[:400])
        inner = getattr(inner, "__cause__", None)
    return " <- ".join(causes)


class CheckingTransport(httpx.AsyncBaseTransport):
    """Passes requests to a real transport, validating each exchange with a SpecChecker."""

    def __init__(self, checker: SpecChecker, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._checker = checker
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        checked = httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )
        self._checker.check(request, body, checked)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
