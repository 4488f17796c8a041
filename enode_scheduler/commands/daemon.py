"""`enode-scheduler run` (the service) and `enode-scheduler demo` (the guided tour)."""

from __future__ import annotations

import importlib.util
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from enode_scheduler.commands.context import clock_for, settings_from_context
from enode_scheduler.exceptions import (
    AlreadyRunning,
    ConfigError,
    EnodeSchedulerError,
    SchemaOutdated,
)

# Everything the daemon is made of loads when `run` runs: `--help` and the other commands do
# not pay for SQLAlchemy, httpx, FastAPI or structlog.
if TYPE_CHECKING:
    from enode_scheduler.clock import Clock
    from enode_scheduler.config import Settings
    from enode_scheduler.daemon.notify import Notifier


def _clock(
    settings: Settings, speed: float | None, start: str | None, anchor_unix: float | None
) -> Clock:
    """The `[clock]` of the config, with any of the three flags put over it."""
    from enode_scheduler.clock import ScaledClock, SystemClock

    if speed is None and start is None and anchor_unix is None:
        return clock_for(settings)
    if speed is not None and speed <= 0:
        raise typer.BadParameter(f"--speed must be positive, not {speed}")
    begin = settings.clock.start
    if start is not None:
        try:
            begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as exc:
            raise typer.BadParameter(f"--start {start!r} is not an ISO-8601 date-time") from exc
        begin = begin if begin.tzinfo else begin.replace(tzinfo=UTC)
    anchor = anchor_unix if anchor_unix is not None else settings.clock.anchor_unix
    return ScaledClock(
        start=begin or SystemClock().now(),
        speed=speed if speed is not None else settings.clock.speed,
        anchor_unix=anchor,
    )


async def _serve(settings: Settings, clock: Clock, notifier: Notifier) -> int:
    from enode_scheduler.bootstrap import build
    from enode_scheduler.daemon.app import Daemon

    async with build(settings, clock=clock) as deps:
        return await Daemon(deps, notifier=notifier).run()


def run(
    ctx: typer.Context,
    speed: Annotated[
        float | None,
        typer.Option(
            help="Run on a clock this many times faster than real time (overrides clock.speed; "
            "for the fake Enode only)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="Clock time at --anchor-unix, ISO-8601 (overrides clock.start)."),
    ] = None,
    anchor_unix: Annotated[
        float | None,
        typer.Option(
            help="Unix time at which the clock reads --start (overrides clock.anchor_unix)."
        ),
    ] = None,
) -> None:
    r"""Run the scheduler daemon until SIGTERM or SIGINT, on the clock `\[clock]` sets (real time
    unless a trial config from `sim --write-config` says otherwise)."""
    import asyncio

    from enode_scheduler.daemon.notify import Notifier
    from enode_scheduler.logs import configure_logging

    settings = settings_from_context(ctx)
    if settings.enode.client_id is None:
        typer.echo(
            "error: enode.client_id: required to run the daemon (set enode.client_id and "
            "enode.client_secret; `enode-scheduler sim --write-config FILE` writes a config for "
            "the fake Enode)",
            err=True,
        )
        raise typer.Exit(2)
    # Loaded before logging is set up, as when the CLI imported everything at start: alembic
    # logs its plugin set-up at INFO on first import, which is noise in the daemon's log.
    importlib.import_module("enode_scheduler.bootstrap")
    configure_logging(settings.logging)
    clock = _clock(settings, speed, start, anchor_unix)
    notifier = Notifier(
        os.environ.get("NOTIFY_SOCKET"), watchdog_usec=os.environ.get("WATCHDOG_USEC")
    )
    try:
        code = asyncio.run(_serve(settings, clock, notifier))
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(line, err=True)
        raise typer.Exit(2) from exc
    except SchemaOutdated as exc:
        typer.echo(f"error: {exc}", err=True)  # the message names the command that fixes it
        raise typer.Exit(2) from exc
    except AlreadyRunning as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except EnodeSchedulerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


def demo(
    plot: Annotated[
        Path | None,
        typer.Option(help="Also draw prices, windows and SoC curves to this PNG file."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final report as one JSON object instead.")
    ] = False,
    nights: Annotated[int, typer.Option(min=1, max=3, help="Simulated nights to run through.")] = 1,
    speed: Annotated[
        float,
        typer.Option(
            min=60,
            help=(
                "At most this many simulated seconds per real second: the live view's pace. "
                "The numbers do not depend on it."
            ),
        ),
    ] = 3600.0,
    co2: Annotated[
        Path | None,
        typer.Option(
            "--co2",
            help=(
                "Carbon intensity CSV (start_utc,g_co2_per_kwh) covering the demo's nights "
                "(23-26 Oct 2025 UTC): plan with it and report kg CO2 next to cost."
            ),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    co2_mode: Annotated[
        str, typer.Option(help="With --co2: price (money + --co2-price per kg) or co2.")
    ] = "co2",
    co2_price: Annotated[
        float, typer.Option(min=0, help="With --co2 and --co2-mode price: money per kg CO2.")
    ] = 0.0,
) -> None:
    """Run the real daemon against a fake Enode with a few cars through simulated nights."""
    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        # Said before the run, not after a minute of it.
        typer.echo("error: --plot needs matplotlib: pip install 'enode-scheduler[plot]'", err=True)
        raise typer.Exit(2)
    from enode_scheduler.config import Co2FileSettings, Co2Settings
    from enode_scheduler.demo import run_demo  # the demo pulls in rich live views

    if co2_mode not in ("price", "co2"):
        typer.echo(f"error: --co2-mode must be price or co2, got {co2_mode!r}", err=True)
        raise typer.Exit(2)
    weights = None
    if co2 is not None:
        weights = Co2Settings(
            source="file",
            file=Co2FileSettings(path=co2),
            mode="co2" if co2_mode == "co2" else "price",
            price_per_kg=co2_price,
        )
    code = run_demo(plot=plot, as_json=as_json, nights=nights, speed=speed, co2=weights)
    raise typer.Exit(code)
