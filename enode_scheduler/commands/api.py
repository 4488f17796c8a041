"""`enode-scheduler api hash-token` and `enode-scheduler webhooks register URL`."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

import typer

from enode_scheduler.commands.context import settings_from_context
from enode_scheduler.exceptions import EnodeError

# The API (FastAPI) and the Enode client (httpx) load inside the commands that use them.
if TYPE_CHECKING:
    from enode_scheduler.config import EnodeSettings
    from enode_scheduler.records import UserTokens

api_app = typer.Typer(help="HTTP API helpers.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Enode webhooks (the firehose).", no_args_is_help=True)

MIN_TOKEN_CHARS = 16
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@api_app.command("hash-token")
def hash_token_command(
    name: Annotated[
        str, typer.Option("--name", help="A label for the token (letters, digits, _.-).")
    ],
    scope: Annotated[
        Literal["read", "write"], typer.Option("--scope", help="read, or write (which may read).")
    ] = "read",
) -> None:
    r"""Read an API token on stdin; print the `\[\[api.tokens]]` entry to paste into the config."""
    from enode_scheduler.api.auth import hash_token

    if not _NAME.match(name):
        raise _fail(f"--name {name!r}: use 1-64 letters, digits, '_', '.' or '-'")
    token = sys.stdin.readline().strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise _fail(
            f"the token on stdin must be at least {MIN_TOKEN_CHARS} characters; "
            'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    typer.echo("[[api.tokens]]")
    typer.echo(f'name = "{name}"')
    typer.echo(f'scope = "{scope}"')
    typer.echo(f'sha256 = "{hash_token(token)}"')


class _NoUserTokens:
    """Webhook setup uses the client token only; no user token is ever read or written."""

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        return None

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        raise RuntimeError("webhook setup must not store user tokens")

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        return None


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise _fail(
            f"URL {url!r}: Enode delivers to https:// URLs only (http on loopback for tests)"
        )
    if not parts.path.endswith("/webhooks/enode"):
        typer.echo(f"warning: the daemon receives webhooks on /webhooks/enode, not {parts.path}")


async def _register(settings: EnodeSettings, url: str, secret: str, *, test: bool) -> None:
    from enode_scheduler.clock import SystemClock
    from enode_scheduler.enode import open_enode_client

    async with open_enode_client(settings, token_store=_NoUserTokens(), clock=SystemClock()) as c:
        await c.set_firehose_webhook(url, secret=secret)
        if test:
            await c.test_firehose_webhook()


@webhooks_app.command("register")
def register(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Public URL of this daemon's /webhooks/enode.")],
    test: Annotated[
        bool, typer.Option("--test", help="Ask Enode to send a test delivery afterwards.")
    ] = False,
) -> None:
    """Point Enode's firehose at URL, signed with `enode.webhook_secret` from the config."""
    import asyncio

    settings = settings_from_context(ctx).enode
    if settings.webhook_secret is None:
        raise _fail("set enode.webhook_secret (at least 128 random bits) before registering")
    if not settings.client_id or settings.client_secret is None:
        raise _fail("set enode.client_id and enode.client_secret to talk to Enode")
    _check_url(url)
    secret = settings.webhook_secret.get_secret_value()
    try:
        asyncio.run(_register(settings, url, secret, test=test))
    except EnodeError as exc:
        raise _fail(f"Enode refused the webhook: {exc}", code=1) from exc
    typer.echo(f"firehose webhook registered: {url}")
