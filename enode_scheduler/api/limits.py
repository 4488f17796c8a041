"""Request body size cap (413), checked on Content-Length and again while the body streams in."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from enode_scheduler.api.problems import problem

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware refusing bodies over `limit_for(path)` bytes."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(scope, receive, send, limit)
            return
        await self.app(scope, _capped(receive, limit), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # FastAPI re-raises HTTPException from body reading; the problem handler answers.
                raise HTTPException(413, f"Request body over {limit} bytes.")
        return message

    return wrapped


async def _send_413(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem(413, f"Request body over {limit} bytes.", headers={"Connection": "close"})
    await response(scope, receive, send)
