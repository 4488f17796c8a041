"""Check HTTP traffic against the Enode OpenAPI spec (the corrected copy in data/enode/).

Test-only: the spec is Enode's material and never ships in the package. Paths the spec does not
describe (the sim's /oauth2/ and /_sim/) are skipped; error answers, which the spec leaves
undeclared, must be RFC 7807 problem bodies.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from enode_scheduler.sim import LogEntry
from tests.conftest import DATA_DIR

SPEC_FILE = DATA_DIR / "enode/openapi-enode-v1.4.corrected.json"
# The spec's only server; requests are checked as if sent there.
SPEC_HOST = "https://api.test.enode.io"
UNSPECIFIED_PREFIXES = ("/oauth2/", "/_sim/")


class _Request:
    def __init__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(url)
        self.method = method.lower()
        self.path = parts.path
        self.host_url = SPEC_HOST
        self.body = body or None
        self.content_type = headers.get("content-type", "application/json")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
            header=Headers(headers),
        )


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content_type = headers.get("content-type", "")
        self.data = body or None


@functools.cache
def load_spec(path: Path) -> OpenAPI:
    # json.loads, not the YAML loader from_file_path uses: the spec has escapes YAML refuses.
    return OpenAPI.from_dict(json.loads(path.read_text(encoding="utf-8")))


class EnodeSpec:
    """Validates requests and responses; raises AssertionError naming what broke the spec."""

    def __init__(self, spec_file: Path = SPEC_FILE) -> None:
        self.openapi = load_spec(spec_file)

    @staticmethod
    def covers(path: str) -> bool:
        return not path.startswith(UNSPECIFIED_PREFIXES)

    def check_request(self, request: httpx.Request) -> None:
        self.check_raw_request(
            request.method, str(request.url), dict(request.headers), request.content
        )

    def check_raw_request(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> None:
        if not self.covers(urlsplit(url).path):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = self.openapi.unmarshal_request(_Request(method, url, _lower(headers), body))
        errors = [e for e in result.errors if not _is_security_error(e)]
        assert not errors, f"{method} {url} breaks the spec: {errors!r}"

    def check_response(self, response: httpx.Response) -> None:
        request = response.request
        self.check_raw_response(
            request.method,
            str(request.url),
            dict(request.headers),
            request.content,
            response.status_code,
            dict(response.headers),
            response.content,
        )

    def check_raw_response(
        self,
        method: str,
        url: str,
        request_headers: dict[str, str],
        request_body: bytes,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        if not self.covers(urlsplit(url).path):
            return
        headers = _lower(headers)
        if status >= 400 and not (status == 503 and url.endswith("/health/ready")):
            check_problem(status, headers, body)
            return
        request = _Request(method, url, _lower(request_headers), request_body)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = self.openapi.unmarshal_response(request, _Response(status, headers, body))
        errors = result.errors
        if status == 204:
            # The spec writes "no body" as `content: {}`, which openapi-core reads as "some body".
            assert not body, f"{method} {url} -> 204 with a body"
            errors = [e for e in errors if type(e).__name__ != "MissingData"]
        assert not errors, f"{method} {url} -> {status} breaks the spec: {errors!r}"

    def check_log(self, entries: Iterable[LogEntry], *, requests: bool = True) -> int:
        """Check what the sim received and answered (its request log); returns how many."""
        checked = 0
        for entry in entries:
            url = SPEC_HOST + entry.path
            if entry.query:
                url += "?" + urlencode(entry.query)
            headers = {"content-type": entry.request_content_type or "application/json"}
            body = entry.request_body.encode()
            if requests:
                self.check_raw_request(entry.method, url, headers, body)
            response_headers = {"content-type": entry.response_content_type or ""}
            self.check_raw_response(
                entry.method,
                url,
                headers,
                body,
                entry.status,
                response_headers,
                entry.response_body.encode(),
            )
            checked += self.covers(entry.path)
        return checked


def spec_hooks(spec: EnodeSpec) -> dict[str, list[Callable[[httpx.Response], Awaitable[None]]]]:
    """httpx `event_hooks` that check every response against the spec as it arrives."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        spec.check_response(response)

    return {"response": [check]}


def check_problem(status: int, headers: dict[str, str], body: bytes) -> None:
    """An error answer must be an RFC 7807 problem with type, title and detail strings."""
    assert headers.get("content-type", "").startswith("application/problem+json"), headers
    problem: Any = json.loads(body)
    for key in ("type", "title", "detail"):
        assert isinstance(problem.get(key), str), f"{status} problem lacks {key}: {problem}"


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _is_security_error(error: Exception) -> bool:
    # openapi-core cannot check OAuth2 bearer schemes; the sim checks tokens itself.
    return "Security" in type(error).__name__
