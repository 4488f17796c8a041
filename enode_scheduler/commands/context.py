"""What every command needs from the root app: the settings, loaded once per invocation.

Command modules import `settings_from_context` from here (cli.py re-exports it), since cli.py
imports the command modules. The settings model (pydantic) is imported only when a command asks
for it, so that `--help` and the commands that need no config start fast.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from enode_scheduler.exceptions import ConfigError, InvalidInput, SchemaOutdated, StoreError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Column

    from enode_scheduler.clock import Clock
    from enode_scheduler.config import Settings
    from enode_scheduler.store import Store

T = TypeVar("T")


def settings_from_context(ctx: typer.Context) -> Settings:
    """The settings of this invocation (global --config), loaded once; a bad config exits 2
    with one line per problem on stderr."""
    root = ctx.find_root()
    if not isinstance(root.obj, dict):
        root.obj = {"config_path": None}
    obj = root.obj
    if "settings" not in obj:
        from enode_scheduler.config import load_settings

        try:
            obj["settings"] = load_settings(obj.get("config_path"))
        except ConfigError as exc:
            for line in exc.problems:
                typer.echo(line, err=True)
            raise typer.Exit(2) from exc
    settings: Settings = obj["settings"]
    return settings


def run_on_store(ctx: typer.Context, action: Callable[[Store], Awaitable[T]]) -> T:
    """Run `action` on the configured store, on the configured clock. Bad input and a database
    not set up exit 2, any other database failure 1, each with one line."""
    import asyncio

    from enode_scheduler.store import open_store

    settings = settings_from_context(ctx)

    async def go() -> T:
        async with open_store(
            settings.database, state_dir=settings.state_dir, clock=clock_for(settings)
        ) as store:
            return await action(store)

    try:
        return asyncio.run(go())
    except (InvalidInput, SchemaOutdated) as exc:  # a database not set up is a setup error too
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def clock_for(settings: Settings) -> Clock:
    """The clock `[clock]` describes: the wall clock, or the fake Enode's accelerated one, so
    every command agrees with the daemon on what "now" is."""
    import time
    from datetime import UTC, datetime

    from enode_scheduler.clock import ScaledClock, SystemClock

    cfg = settings.clock
    if cfg.real_time:
        return SystemClock()
    start = cfg.start or datetime.fromtimestamp(cfg.anchor_unix or time.time(), tz=UTC)
    return ScaledClock(start=start, speed=cfg.speed, anchor_unix=cfg.anchor_unix)


def local_zone_name(settings: Settings) -> str:
    """`scheduler.timezone`, else the machine's own IANA zone (UTC when it cannot be told)."""
    if settings.scheduler.timezone:
        return settings.scheduler.timezone
    return machine_zone()


def machine_zone() -> str:
    """The IANA name of this machine's local zone: $TZ, /etc/localtime's link, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def table_console() -> Console:
    """A console for tables: the terminal's width, or wide when piped, so that `| grep` sees
    each row on one line."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 200))


def id_column(column: Column, ids: list[str]) -> None:
    """Never cut an id in a table: other commands need it whole."""
    column.no_wrap = True
    column.min_width = max((len(i) for i in ids), default=0)
