"""`enode-scheduler users list`: who is linked, and who must link again."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Users and their Enode link.", no_args_is_help=True)


@app.command("list")
def list_users(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = (
        False
    ),
) -> None:
    """List users with their status: linked, not_linked or relink_required (and why)."""
    # Imported here: the store pulls in SQLAlchemy, which `--help` does not need.
    import asyncio
    import json

    from enode_scheduler.clock import SystemClock
    from enode_scheduler.commands.context import settings_from_context
    from enode_scheduler.exceptions import StoreError
    from enode_scheduler.records import UserRecord
    from enode_scheduler.store import open_store

    settings = settings_from_context(ctx)

    async def fetch() -> list[UserRecord]:
        async with open_store(
            settings.database, state_dir=settings.state_dir, clock=SystemClock()
        ) as store:
            return await store.users.list_users()

    try:
        users = asyncio.run(fetch())
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    rows = [
        {"user_id": u.user_id, "status": u.status.value, "reason": u.relink_reason}
        for u in sorted(users, key=lambda u: u.user_id)
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        reason = f"  ({row['reason']})" if row["reason"] else ""
        typer.echo(f"{row['user_id']}  {row['status']}{reason}")
