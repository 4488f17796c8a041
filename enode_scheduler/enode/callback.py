"""A one-shot local HTTP listener for the OAuth redirect, for `enode-scheduler link`."""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.exceptions import EnodeError, InvalidInput, LinkError

log = structlog.get_logger()

# Enough for a request line with a code, a state and an error description.
_MAX_HEAD_BYTES = 16384

Handler = Callable[[dict[str, str]], Awaitable[str]]


def listen_address(redirect_uri: str) -> tuple[str, int, str]:
    """(host, port, path) to listen on for a loopback http redirect URI."""
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or not parts.hostname:
        raise InvalidInput(
            f"enode.redirect_uri {redirect_uri!r}: the link command listens only on an http:// URI"
        )
    return parts.hostname, parts.port or 80, parts.path or "/"


async def wait_for_callback(
    redirect_uri: str,
    *,
    handle: Handler,
    clock: Clock,
    timeout_s: float,
    on_listening: Callable[[], None] | None = None,
) -> str:
    """Serve `redirect_uri` until one callback arrives; return what `handle` returns for it.

    `handle` gets the callback's query parameters; an EnodeError it raises (LinkError for a bad
    state or a refusal) is shown to the browser and raised here. Raises LinkError when nothing
    arrives within `timeout_s`.
    """
    host, port, path = listen_address(redirect_uri)
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _serve_one(reader, writer, path=path, handle=handle, outcome=outcome)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    try:
        server = await asyncio.start_server(serve, host, port)
    except OSError as exc:
        raise LinkError(f"cannot listen on {host}:{port} for the callback: {exc}") from exc
    # The timer starts before anyone is told to send the browser, so it covers the whole wait.
    timer: asyncio.Future[Any] = asyncio.ensure_future(clock.sleep(timeout_s))
    if on_listening is not None:
        on_listening()
    waiting: list[asyncio.Future[Any]] = [outcome, timer]
    try:
        async with server:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if not outcome.done():
        raise LinkError(f"no callback on {redirect_uri} within {timeout_s:g} s")
    return outcome.result()


async def _serve_one(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    path: str,
    handle: Handler,
    outcome: asyncio.Future[str],
) -> None:
    target = await _request_target(reader)
    parts = urlsplit(target or "")
    if target is None or parts.path != path or outcome.done():
        _respond(writer, 404, "Not the link callback.")
        return
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    try:
        linked = await handle(params)
    except EnodeError as exc:
        _respond(writer, 400, f"Linking failed: {exc}")
        outcome.set_exception(exc)
        return
    _respond(writer, 200, f"Linked {linked}. You can close this window.")
    outcome.set_result(linked)


async def _request_target(reader: asyncio.StreamReader) -> str | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    if len(head) > _MAX_HEAD_BYTES:
        return None
    method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
    target = rest.rsplit(" ", 1)[0]
    return target if method == "GET" else None


def _respond(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    body = f"<!doctype html><title>enode-scheduler</title><p>{html.escape(text)}</p>".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
