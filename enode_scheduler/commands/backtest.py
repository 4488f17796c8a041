"""`enode-scheduler backtest`: replay real sessions on real prices (see docs/planner.md)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from enode_scheduler.exceptions import InvalidInput, PriceError

# The replay machinery and rich load when a backtest runs, not for the CLI's `--help`.
if TYPE_CHECKING:
    from enode_scheduler.backtest.market import PriceSeries
    from enode_scheduler.backtest.replay import Outcome, ReplayOptions
    from enode_scheduler.backtest.report import Summary
    from enode_scheduler.backtest.sessions import Session

_DATA = Path("../shared/data")
_DEFAULT_PRICES = [_DATA / "prices/NO2_2024.csv", _DATA / "prices/DE_LU_2024.csv"]
_DEFAULT_SESSIONS = _DATA / "sessions/norway_residential_sessions.csv"


def backtest(
    prices: Annotated[
        list[Path] | None,
        typer.Option("--prices", help="Price CSV (repeatable). Default: NO2_2024 and DE_LU_2024."),
    ] = None,
    sessions: Annotated[
        Path, typer.Option(help="Sessions CSV (shared/data layout).", dir_okay=False)
    ] = _DEFAULT_SESSIONS,
    power_kw: Annotated[
        float | None,
        typer.Option(help="Charge power for every session (default: its max_power_kw)."),
    ] = None,
    default_power_kw: Annotated[
        float, typer.Option(help="Charge power when a session has no max_power_kw.")
    ] = 7.4,
    capacity_kwh: Annotated[
        float, typer.Option(help="Battery capacity (grown if a session needs more).")
    ] = 60.0,
    efficiency: Annotated[
        float, typer.Option(help="Share of grid energy stored in the battery.")
    ] = 0.9,
    target_soc: Annotated[
        float, typer.Option(help="Target SoC %; the session's energy is what reaching it takes.")
    ] = 80.0,
    start_penalty: Annotated[float, typer.Option(help="Cost per charging start (EUR).")] = 0.0,
    limit: Annotated[int | None, typer.Option(help="Use at most this many sessions.")] = None,
    sample: Annotated[
        int | None, typer.Option(help="Use a random sample of this many sessions.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample.")] = 0,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG: a week of prices, plans and baseline.")
    ] = None,
) -> None:
    """Replay sessions on real prices: charge at once vs daemon-style plan vs perfect foresight."""
    from enode_scheduler.backtest.market import PriceSeries
    from enode_scheduler.backtest.plot import plot_week
    from enode_scheduler.backtest.replay import ReplayOptions
    from enode_scheduler.backtest.report import summarise
    from enode_scheduler.backtest.sessions import home_zone, read_sessions
    from enode_scheduler.prices.file import read_price_csv

    if output_format not in ("table", "json"):
        _fail(f"--format must be table or json, got {output_format!r}")
    options = ReplayOptions(
        power_kw, default_power_kw, capacity_kwh, efficiency, target_soc, start_penalty
    )
    try:
        chosen = _choose(read_sessions(sessions), limit=limit, sample=sample, seed=seed)
        summaries = []
        for price_path in prices or _DEFAULT_PRICES:
            series = PriceSeries(read_price_csv(price_path))
            outcomes, skipped = run(chosen, series, price_path.stem, home_zone(sessions), options)
            summaries.append(summarise(price_path.stem, outcomes, skipped=skipped))
            if plot is not None and outcomes:
                target = (
                    plot
                    if len(prices or _DEFAULT_PRICES) == 1
                    else _suffixed(plot, price_path.stem)
                )
                plot_week(target, series, outcomes, f"{price_path.stem}: {sessions.name}")
    except (InvalidInput, PriceError) as exc:
        _fail(str(exc))
    _print(summaries, output_format)


def run(
    sessions: list[Session], series: PriceSeries, name: str, home_tz: str, options: ReplayOptions
) -> tuple[list[Outcome], int]:
    """Replay `sessions` moved onto the year of `series`; returns outcomes and the skipped count."""
    from rich.console import Console
    from rich.progress import Progress

    from enode_scheduler.backtest.market import zone_of
    from enode_scheduler.backtest.replay import replay
    from enode_scheduler.backtest.sessions import move_to_year

    price_tz = zone_of(name)
    year = (series.first + (series.last - series.first) / 2).year
    outcomes: list[Outcome] = []
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=len(sessions) < 200) as progress:
        task = progress.add_task(f"replaying on {name}", total=len(sessions))
        for session in sessions:
            moved = move_to_year(
                session,
                home_tz=home_tz,
                price_tz=price_tz,
                year=year,
                first=series.first,
                last=series.last,
            )
            if moved is not None and moved.energy_kwh > 0:
                outcomes.append(replay(moved, series, options))
            progress.advance(task)
    return outcomes, len(sessions) - len(outcomes)


def _choose(
    sessions: list[Session], *, limit: int | None, sample: int | None, seed: int
) -> list[Session]:
    if sample is not None and sample < len(sessions):
        sessions = random.Random(seed).sample(sessions, sample)  # noqa: S311 - not security
    return sessions[:limit] if limit is not None else sessions


def _suffixed(path: Path, name: str) -> Path:
    return path.with_name(f"{path.stem}-{name}{path.suffix}")


def _print(summaries: list[Summary], output_format: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from enode_scheduler.backtest.report import table_rows

    if output_format == "json":
        typer.echo(json.dumps([s.to_json() for s in summaries], indent=2))
        return
    table = Table(title="backtest: costs in EUR (wholesale day-ahead prices only)")
    table.add_column("")
    for summary in summaries:
        table.add_column(summary.prices, justify="right")
    rows = [table_rows(s) for s in summaries]
    for index, (label, _) in enumerate(rows[0]):
        table.add_row(label, *(r[index][1] for r in rows))
    Console().print(table)


def _fail(message: str) -> None:
    typer.echo(f"backtest: {message}", err=True)
    raise typer.Exit(2)
