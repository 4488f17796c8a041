"""`enode-scheduler co2 fetch|show`: the carbon-intensity forecast of the `[co2]` source."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from enode_scheduler.commands.context import settings_from_context

if TYPE_CHECKING:
    from enode_scheduler.config import Settings
    from enode_scheduler.planner.models import IntensitySlot

app = typer.Typer(help="Grid carbon intensity: fetch and show.", no_args_is_help=True)
T = TypeVar("T")

HoursOption = Annotated[
    float, typer.Option("--hours", min=1, max=72, help="Hours from now to ask for.")
]


@app.command("show")
def show(
    ctx: typer.Context,
    hours: HoursOption = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead.")] = False,
) -> None:
    """Print the intensity forecast (gCO2eq/kWh) for the next hours."""
    slots = _fetch(settings_from_context(ctx), hours=hours)
    if as_json:
        rows = [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "g_co2_per_kwh": s.g_co2_per_kwh,
            }
            for s in slots
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for s in slots:
        typer.echo(f"{s.start:%Y-%m-%d %H:%M}Z  {s.g_co2_per_kwh:8.1f} g/kWh")


@app.command("fetch")
def fetch(ctx: typer.Context, hours: HoursOption = 48.0) -> None:
    """Fetch the intensity forecast and store it (what the daemon does every refresh interval)."""
    import asyncio

    from enode_scheduler.prices.co2.factory import intensity_zone
    from enode_scheduler.store import open_store

    settings = settings_from_context(ctx)
    slots = _fetch(settings, hours=hours)
    zone = intensity_zone(settings.co2, price_zone=settings.prices.zone)

    async def store_them() -> int:
        async with open_store(settings.database, state_dir=settings.state_dir) as store:
            return await store.intensity.upsert_intensity(zone, slots)

    changed = _guarded(lambda: asyncio.run(store_them()))
    span = f"from {slots[0].start.isoformat()} to {slots[-1].end.isoformat()}" if slots else ""
    typer.echo(f"{zone}: {len(slots)} slots {span}; {changed} new or changed")


def _fetch(settings: Settings, *, hours: float) -> list[IntensitySlot]:
    import asyncio

    from enode_scheduler.clock import SystemClock
    from enode_scheduler.prices.co2.factory import open_intensity_source

    if settings.co2.source == "none":
        _fail('co2.source is "none": set [co2] source in the config', code=2)
    now = SystemClock().now()
    start = now.replace(minute=0, second=0, microsecond=0)

    async def run() -> list[IntensitySlot]:
        async with open_intensity_source(settings.co2, price_zone=settings.prices.zone) as source:
            assert source is not None  # "none" was refused above
            return await source.fetch(start=start, end=now + timedelta(hours=hours))

    return _guarded(lambda: asyncio.run(run()))


def _guarded(work: Callable[[], T]) -> T:
    from enode_scheduler.exceptions import PriceError, StoreError

    try:
        return work()
    except (PriceError, StoreError) as exc:
        _fail(str(exc), code=1)


def _fail(message: str, *, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
