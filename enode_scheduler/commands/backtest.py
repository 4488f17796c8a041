"""`enode-scheduler backtest`: replay real sessions on real prices (see docs/planner.md)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from enode_scheduler.exceptions import InvalidInput, PriceError

# The backtest modules and rich load when the command runs: `--help` does not pay for them.
if TYPE_CHECKING:
    from enode_scheduler.backtest.market import PriceSeries
    from enode_scheduler.backtest.replay import Outcome, ReplayOptions
    from enode_scheduler.backtest.report import Summary
    from enode_scheduler.backtest.sessions import Session


def backtest(
    prices: Annotated[
        list[Path] | None,
        typer.Option(
            "--prices",
            help="Price CSV (repeatable). Default: the repository's data/prices/NO2_2024.csv "
            "and DE_LU_2024.csv.",
        ),
    ] = None,
    zone: Annotated[
        str | None,
        typer.Option(
            help="Price zone of every --prices file (default: from its name, e.g. NO2_2024.csv)."
        ),
    ] = None,
    sessions: Annotated[
        Path | None,
        typer.Option(
            help="Sessions CSV, may be gzipped (data/README.md layout). Default: the "
            "repository's data/sessions/norway_residential_sessions.csv.gz.",
            dir_okay=False,
        ),
    ] = None,
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
    co2: Annotated[
        list[Path] | None,
        typer.Option(
            "--co2",
            help=(
                "Hourly carbon intensity CSV (repeatable, one per --prices in order; data/co2 "
                "layout). Without --prices, the price file of the same name in ../prices/ is "
                "used. Compares charge at once, price only, blends and CO2 only."
            ),
        ),
    ] = None,
    co2_price: Annotated[
        list[float] | None,
        typer.Option(
            "--co2-price", help="Blend price per kg CO2 (EUR, repeatable). Default: 0.08 and 0.3."
        ),
    ] = None,
    co2_factor: Annotated[
        str, typer.Option(help="Intensity column of a two-column file: lifecycle or direct.")
    ] = "lifecycle",
) -> None:
    """Replay sessions on real prices: charge at once vs daemon-style plan vs perfect foresight."""
    from enode_scheduler.backtest.defaults import default_prices, default_sessions
    from enode_scheduler.backtest.market import PriceSeries, zone_of
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
    if co2:
        if co2_factor not in ("lifecycle", "direct"):
            _fail(f"--co2-factor must be lifecycle or direct, got {co2_factor!r}")
        _co2_backtest(
            co2, prices, sessions or default_sessions(), options,
            _Co2Choice(co2_price, co2_factor, output_format, zone), sample=(limit, sample, seed),
        )  # fmt: skip
        return
    try:
        price_paths = prices or default_prices()
        # Every zone is checked before the long part starts.
        price_zones = [zone_of(str(path), zone) for path in price_paths]
        sessions = sessions or default_sessions()
        chosen = _choose(read_sessions(sessions), limit=limit, sample=sample, seed=seed)
        summaries = []
        for price_path, price_tz in zip(price_paths, price_zones, strict=True):
            series = PriceSeries(read_price_csv(price_path))
            name = price_path.stem
            outcomes, skipped = run(
                chosen,
                series,
                name,
                home_tz=home_zone(sessions),
                price_tz=price_tz,
                options=options,
            )
            summaries.append(summarise(name, outcomes, skipped=skipped))
            if plot is not None and outcomes:
                target = plot if len(price_paths) == 1 else _suffixed(plot, name)
                plot_week(target, series, outcomes, f"{name}: {sessions.name}")
    except (InvalidInput, PriceError) as exc:
        _fail(str(exc))
    _print(summaries, output_format)


def run(
    sessions: list[Session],
    series: PriceSeries,
    name: str,
    *,
    home_tz: str,
    price_tz: str,
    options: ReplayOptions,
) -> tuple[list[Outcome], int]:
    """Replay `sessions` moved onto the year of `series`; returns outcomes and the skipped count.

    `home_tz` is the zone the sessions were recorded in, `price_tz` the local zone of the prices.
    """
    from enode_scheduler.backtest.replay import replay

    moved = moved_sessions(sessions, series, name, home_tz=home_tz, price_tz=price_tz)
    outcomes = [replay(session, series, options) for session in moved]
    return outcomes, len(sessions) - len(outcomes)


def moved_sessions(
    sessions: list[Session], series: PriceSeries, name: str, *, home_tz: str, price_tz: str
) -> Iterator[Session]:
    """The sessions that fit, moved onto the year of `series` (with a progress bar on stderr)."""
    from rich.console import Console
    from rich.progress import Progress

    from enode_scheduler.backtest.sessions import move_to_year

    year = (series.first + (series.last - series.first) / 2).year
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
                yield moved
            progress.advance(task)


class _Co2Choice(NamedTuple):
    blend_prices: list[float] | None
    factor: str
    output_format: str
    zone: str | None


def _co2_backtest(
    co2_files: list[Path],
    price_files: list[Path] | None,
    sessions_path: Path,
    options: ReplayOptions,
    choice: _Co2Choice,
    *,
    sample: tuple[int | None, int | None, int],
) -> None:
    """The CO2 table: cost and kg CO2 per strategy, for each (prices, intensity) pair."""
    from rich.console import Console
    from rich.table import Table

    from enode_scheduler.backtest.co2 import (
        replay_co2,
        series_with_intensity,
        strategies,
        summarise_co2,
    )
    from enode_scheduler.backtest.market import PriceSeries, zone_of
    from enode_scheduler.backtest.sessions import home_zone, read_sessions
    from enode_scheduler.prices.co2.file import read_intensity_csv
    from enode_scheduler.prices.file import read_price_csv

    pairs = _co2_pairs(co2_files, price_files)
    plans = strategies(choice.blend_prices if choice.blend_prices else [0.08, 0.3])
    limit, size, seed = sample
    summaries = []
    try:
        chosen = _choose(read_sessions(sessions_path), limit=limit, sample=size, seed=seed)
        for price_path, co2_path in pairs:
            name = series_name(price_path)
            intensity = read_intensity_csv(
                co2_path, factor="direct" if choice.factor == "direct" else "lifecycle"
            )
            series = series_with_intensity(PriceSeries(read_price_csv(price_path)), intensity)
            moved = list(
                moved_sessions(
                    chosen,
                    series,
                    name,
                    home_tz=home_zone(sessions_path),
                    price_tz=zone_of(str(price_path), choice.zone),
                )
            )
            outcomes = [replay_co2(s, series, options, plans) for s in moved]
            summaries.append(summarise_co2(name, outcomes, skipped=len(chosen) - len(outcomes)))
    except (InvalidInput, PriceError, ValueError) as exc:
        _fail(str(exc))
    if choice.output_format == "json":
        typer.echo(json.dumps([s.to_json() for s in summaries], indent=2))
        return
    for summary in summaries:
        table = Table(
            title=(
                f"{summary.prices}: {summary.sessions:,} sessions, {summary.energy_kwh:,.0f} kWh "
                f"({choice.factor} intensity; EUR at wholesale prices)"
            )
        )
        for column in ("strategy", "cost EUR", "kg CO2", "saving vs at once", "CO2 saved"):
            table.add_column(column, justify="left" if column == "strategy" else "right")
        for name, cost, kg, saving, co2_saving in summary.rows():
            table.add_row(
                name, f"{cost:,.0f}", f"{kg:,.0f}", f"{saving:.1f} %", f"{co2_saving:.1f} %"
            )
        Console().print(table)


def _co2_pairs(co2_files: list[Path], price_files: list[Path] | None) -> list[tuple[Path, Path]]:
    if price_files is None:
        price_files = [_prices_beside(path) for path in co2_files]
    if len(price_files) != len(co2_files):
        _fail(f"give one --co2 per --prices ({len(price_files)} prices, {len(co2_files)} --co2)")
    return list(zip(price_files, co2_files, strict=True))


def _prices_beside(co2_path: Path) -> Path:
    """data/co2/intensity/DE_LU_2024.csv.gz -> data/co2/prices/DE_LU_2024.csv.gz."""
    candidate = co2_path.parent.parent / "prices" / co2_path.name
    if not candidate.exists():
        _fail(f"no price file {candidate} for {co2_path}; pass --prices")
    return candidate


def series_name(path: Path) -> str:
    """`DE_LU_2024` for DE_LU_2024.csv or DE_LU_2024.csv.gz."""
    name = path.name
    for suffix in (".gz", ".csv", ".json"):
        name = name.removesuffix(suffix)
    return name


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
