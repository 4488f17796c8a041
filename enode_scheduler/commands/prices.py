"""`enode-scheduler prices fetch|show`: day-ahead prices from the configured source."""

from __future__ import annotations

import json
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer

from enode_scheduler.commands.context import clock_for, settings_from_context
from enode_scheduler.exceptions import (
    ConfigError,
    InvalidInput,
    PriceError,
    SchemaOutdated,
    StoreError,
)

# The price sources (httpx), the store (SQLAlchemy) and rich load inside the commands, so that
# `--help` and the other commands do not pay for them.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from enode_scheduler.config import Settings
    from enode_scheduler.planner.models import Slot
    from enode_scheduler.prices.zones import Zone

app = typer.Typer(help="Day-ahead prices: fetch and show.", no_args_is_help=True)
T = TypeVar("T")


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True) if stderr else Console()


ZoneOption = Annotated[
    str | None,
    typer.Option("--zone", "-z", help="Bidding zone, e.g. NO1, DE_LU (default: prices.zone)."),
]
DayOption = Annotated[
    str | None,
    typer.Option(
        "--day", "-d", help="Delivery day YYYY-MM-DD in the market's local time (default: today)."
    ),
]


@dataclass(frozen=True, slots=True)
class _Request:
    settings: Settings
    zone: Zone
    day: date


@app.command("show")
def show(
    ctx: typer.Context,
    zone: ZoneOption = None,
    day: DayOption = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write a step chart of the day's prices to this PNG."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print a JSON array of {start, end, price_per_kwh, spot_per_mwh}."
        ),
    ] = False,
) -> None:
    """Show a delivery day's prices: what the household pays per kWh, and the raw spot."""
    from enode_scheduler.prices.tariff import Tariff

    request = _request(ctx, zone, day)
    raw = _fetch(request, days=1)
    tariff = Tariff.from_settings(
        request.settings.prices.tariff, zone_timezone=request.zone.timezone
    )
    priced = tariff.apply(raw)
    if as_json:
        typer.echo(json.dumps(_json_rows(raw, priced), indent=2))
    elif plot is not None:
        _plot(request, priced, plot)
    else:
        _console().print(_table(request, raw, priced))


@app.command("fetch")
def fetch(ctx: typer.Context, zone: ZoneOption = None, day: DayOption = None) -> None:
    """Fetch a delivery day's prices (default: today and tomorrow) and store them."""
    request = _request(ctx, zone, day)
    raw = _fetch(request, days=1 if day else 2)
    changed = _run(_store(request, raw), what="storing prices")
    steps = sorted({int((s.end - s.start).total_seconds() // 60) for s in raw})
    typer.echo(
        f"{request.zone.name}: {len(raw)} slots ({'/'.join(map(str, steps))} min) "
        f"from {raw[0].start.isoformat()} to {raw[-1].end.isoformat()}; {changed} new or changed"
    )


async def _store(request: _Request, slots: list[Slot]) -> int:
    from enode_scheduler.store import open_store

    settings = request.settings
    async with open_store(settings.database, state_dir=settings.state_dir) as store:
        return await store.prices.upsert_slots(request.zone.name, slots)


def _request(ctx: typer.Context, zone: str | None, day: str | None) -> _Request:
    from enode_scheduler.prices.zones import get_zone

    settings = settings_from_context(ctx)
    try:
        chosen = get_zone(zone or settings.prices.zone)
    except InvalidInput as exc:
        _fail(f"--zone: {exc}", code=2)
    return _Request(settings, chosen, _parse_day(day, chosen, now=clock_for(settings).now()))


def _parse_day(text: str | None, zone: Zone, *, now: datetime) -> date:
    if text is None:
        return zone.local_day(now)
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"--day: expected YYYY-MM-DD, got {text!r}", code=2)


def _fetch(request: _Request, *, days: int) -> list[Slot]:
    start, _ = request.zone.day_bounds(request.day)
    _, end = request.zone.day_bounds(request.day + timedelta(days=days - 1))

    from enode_scheduler.prices.factory import open_price_source

    async def run() -> list[Slot]:
        async with open_price_source(request.settings.prices) as source:
            return await source.fetch(request.zone.name, start=start, end=end)

    source = request.settings.prices.source
    return _run(run(), what=f"fetching {request.zone.name} prices from {source}")


def _run(work: Coroutine[Any, Any, T], *, what: str) -> T:
    """Run `work` with a progress spinner; the error tree becomes one line and an exit code."""
    import asyncio

    try:
        with _console().status(what):
            return asyncio.run(work)
    except ConfigError as exc:
        _fail("; ".join(exc.problems), code=2)
    except (InvalidInput, SchemaOutdated) as exc:
        _fail(str(exc), code=2)
    except (PriceError, StoreError) as exc:
        _fail(str(exc), code=1)


def _json_rows(raw: list[Slot], priced: list[Slot]) -> list[dict[str, Any]]:
    return [
        {
            "start": r.start.isoformat().replace("+00:00", "Z"),
            "end": r.end.isoformat().replace("+00:00", "Z"),
            "price_per_kwh": round(p.price_per_kwh, 6),
            "spot_per_mwh": round(r.price_per_kwh * 1000, 4),
        }
        for r, p in zip(raw, priced, strict=True)
    ]


def _table(request: _Request, raw: list[Slot], priced: list[Slot]) -> Table:
    from rich.table import Table

    local = request.zone.timezone
    table = Table(title=f"{request.zone.name} {request.day.isoformat()} ({local})")
    cur = request.settings.prices.currency
    for column in ("start", "end", f"spot {cur}/MWh", f"price {cur}/kWh"):
        table.add_column(column, justify="right")
    tz = ZoneInfo(local)
    for r, p in zip(raw, priced, strict=True):
        table.add_row(
            r.start.astimezone(tz).strftime("%H:%M %Z"),
            r.end.astimezone(tz).strftime("%H:%M %Z"),
            f"{r.price_per_kwh * 1000:.2f}",
            f"{p.price_per_kwh:.4f}",
        )
    prices = [p.price_per_kwh for p in priced]
    table.caption = (
        f"{len(priced)} slots; price {cur}/kWh min {min(prices):.4f}, "
        f"mean {sum(prices) / len(prices):.4f}, max {max(prices):.4f}"
    )
    return table


def _plot(request: _Request, priced: list[Slot], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _fail("--plot needs matplotlib: pip install 'enode-scheduler[plot]'", code=2)
    tz = ZoneInfo(request.zone.timezone)
    times = [s.start.astimezone(tz) for s in priced] + [priced[-1].end.astimezone(tz)]
    values = [s.price_per_kwh for s in priced] + [priced[-1].price_per_kwh]
    figure, axes = plt.subplots(figsize=(10, 4))
    # matplotlib plots datetimes through its unit converters; its stubs only name arrays.
    axes.step(times, values, where="post")  # type: ignore[arg-type]
    axes.set_title(f"{request.zone.name} {request.day.isoformat()}")
    axes.set_ylabel("price per kWh")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    try:
        figure.savefig(path, dpi=100)
    except OSError as exc:
        _fail(f"--plot: cannot write {path}: {exc.strerror or exc}", code=2)
    finally:
        plt.close(figure)
    _console().print(f"wrote {path}")


def _fail(message: str, *, code: int) -> NoReturn:
    _console(stderr=True).print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)
