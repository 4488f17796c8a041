"""The local redirect listener of `enode-scheduler link`, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.enode.callback import listen_address, wait_for_callback
from enode_scheduler.exceptions import InvalidInput, LinkError


def _uri() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/cb"


async def test_callback_params_reach_the_handler() -> None:
    uri = _uri()
    seen: list[dict[str, str]] = []
    ready = asyncio.Event()

    async def handle(params: dict[str, str]) -> str:
        seen.append(params)
        return "carol"

    waiting = asyncio.create_task(
        wait_for_callback(
            uri,
            handle=handle,
            clock=FakeClock(datetime.now(UTC)),
            timeout_s=60,
            on_listening=ready.set,
        )
    )
    await ready.wait()
    async with httpx.AsyncClient() as browser:
        stray = await browser.get(uri.replace("/cb", "/favicon.ico"))
        page = await browser.get(uri, params={"code": "c1", "state": "s1"})
    assert stray.status_code == 404
    assert page.status_code == 200
    assert "Linked carol" in page.text
    assert await waiting == "carol"
    assert seen == [{"code": "c1", "state": "s1"}]


async def test_handler_refusal_is_shown_and_raised() -> None:
    uri = _uri()
    ready = asyncio.Event()

    async def handle(params: dict[str, str]) -> str:
        raise LinkError("access_denied: <no>", error="access_denied")

    waiting = asyncio.create_task(
        wait_for_callback(
            uri,
            handle=handle,
            clock=FakeClock(datetime.now(UTC)),
            timeout_s=60,
            on_listening=ready.set,
        )
    )
    await ready.wait()
    async with httpx.AsyncClient() as browser:
        page = await browser.get(uri, params={"error": "access_denied"})
    assert page.status_code == 400
    assert "&lt;no&gt;" in page.text  # escaped
    with pytest.raises(LinkError) as info:
        await waiting
    assert info.value.error == "access_denied"


async def test_no_callback_times_out_on_the_clock() -> None:
    clock = FakeClock(datetime.now(UTC))
    ready = asyncio.Event()

    async def handle(params: dict[str, str]) -> str:
        raise AssertionError("no callback expected")

    waiting = asyncio.create_task(
        wait_for_callback(_uri(), handle=handle, clock=clock, timeout_s=600, on_listening=ready.set)
    )
    await ready.wait()
    await clock.advance(599)
    assert not waiting.done()
    await clock.advance(1)
    with pytest.raises(LinkError, match="no callback"):
        await waiting


@pytest.mark.parametrize("uri", ["https://127.0.0.1:8765/cb", "ftp://x/cb", "http:///cb"])
def test_only_http_redirect_uris_can_be_served(uri: str) -> None:
    with pytest.raises(InvalidInput, match="redirect_uri"):
        listen_address(uri)


def test_listen_address_defaults() -> None:
    assert listen_address("http://localhost/") == ("localhost", 80, "/")
    assert listen_address("http://127.0.0.1:8765/oauth/callback") == (
        "127.0.0.1",
        8765,
        "/oauth/callback",
    )
