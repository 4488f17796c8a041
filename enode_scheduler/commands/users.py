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
    import json

    from enode_scheduler.commands.context import run_on_store

    users = run_on_store(ctx, lambda store: store.users.list_users())
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
