"""`enode-scheduler notify test [--target NAME]`: a test message to the `[[notify]]` targets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from enode_scheduler.clock import SystemClock
from enode_scheduler.commands.context import settings_from_context
from enode_scheduler.exceptions import ConfigError

if TYPE_CHECKING:
    from enode_scheduler.config import Settings

app = typer.Typer(help="Notifications ([[notify]] targets).", no_args_is_help=True)


@app.command("test")
def send_test(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Option("--target", help="Only this target (its `name`).")
    ] = None,
) -> None:
    """Send one test message to each target (or to --target) now, not through the outbox.

    Exits 1 when a target did not take it, 2 when there is no such target.
    """
    settings = settings_from_context(ctx)
    names = [t.name for t in settings.notify]
    if not names:
        typer.echo("error: no [[notify]] targets are configured", err=True)
        raise typer.Exit(2)
    if target is not None and target not in names:
        known = ", ".join(names)
        typer.echo(
            f"error: --target {target!r}: no [[notify]] entry has that name ({known})", err=True
        )
        raise typer.Exit(2)
    import asyncio

    try:
        results = asyncio.run(_send(settings, target))
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(line, err=True)
        raise typer.Exit(2) from exc
    failed = 0
    for name, error in results.items():
        typer.echo(f"{name}: {'sent' if error is None else 'FAILED: ' + error}")
        failed += error is not None
    raise typer.Exit(1 if failed else 0)


async def _send(settings: Settings, only: str | None) -> dict[str, str | None]:
    # Imported here: the other commands need neither Apprise nor the notify package.
    from enode_scheduler.bootstrap import notify_targets
    from enode_scheduler.notify.targets import DeliveryFailed, Message
    from enode_scheduler.records import EventKind, NotifyEvent

    now = SystemClock().now()
    event = NotifyEvent(
        event_id=f"test:{now.isoformat()}",
        kind=EventKind.TEST,
        at=now,
        title="enode-scheduler test",
        message="A test message from enode-scheduler: this target works.",
    )
    results: dict[str, str | None] = {}
    import httpx

    async with httpx.AsyncClient() as http:
        targets = notify_targets(settings, http=http)
        for name, t in targets.items():
            if only is not None and name != only:
                continue
            try:
                await t.send(Message(event.title, event.message, (event,)), now=now)
                results[name] = None
            except DeliveryFailed as exc:
                results[name] = str(exc)
    return results
