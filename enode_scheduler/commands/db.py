"""`enode-scheduler db upgrade|current|downgrade|new-key`: the schema and the token key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from enode_scheduler.commands.context import settings_from_context
from enode_scheduler.exceptions import StoreError

# SQLAlchemy, alembic and cryptography load inside the commands: `--help` needs none of them.
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(help="Database schema migrations and token keys.", no_args_is_help=True)
T = TypeVar("T")


def _run(ctx: typer.Context, action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    import asyncio

    from enode_scheduler.store.engine import create_engine

    settings = settings_from_context(ctx)

    async def run() -> T:
        engine = create_engine(settings.database, state_dir=settings.state_dir)
        try:
            return await action(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the database schema (to the newest revision by default)."""
    from enode_scheduler.store import migrate

    _run(ctx, lambda engine: migrate.upgrade(engine, revision))
    current(ctx)


@app.command()
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help='Target revision ("base" drops everything).')],
) -> None:
    """Downgrade the database schema to REVISION."""
    from enode_scheduler.store import migrate

    _run(ctx, lambda engine: migrate.downgrade(engine, revision))
    current(ctx)


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the database's schema revision and the one this version needs."""
    from enode_scheduler.store import migrate

    revisions = _run(ctx, migrate.current_revisions)
    heads = migrate.head_revisions()
    state = "up to date" if revisions == heads else "outdated: run `enode-scheduler db upgrade`"
    at = ", ".join(sorted(revisions)) or "empty"
    typer.echo(f"database at {at}; this version needs {', '.join(sorted(heads))} ({state})")


@app.command("new-key")
def new_key() -> None:
    """Print a new token encryption key for database.token_keys (put it first to rotate)."""
    from enode_scheduler.store.crypto import generate_key

    typer.echo(generate_key())
