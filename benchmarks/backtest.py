"""Backtest over all Norway sessions on NO2_2024 and DE_LU_2024, printed as a table.

Run: python benchmarks/backtest.py [--sample N]
The same code as `enode-scheduler backtest`; this script adds the run time per price series.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, Python puts benchmarks/ on sys.path; the imports below need the repository
# root (and take this working tree's enode_scheduler first, as PYTHONPATH=. did).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from enode_scheduler.backtest.defaults import default_prices, default_sessions
from enode_scheduler.backtest.market import PriceSeries, zone_of
from enode_scheduler.backtest.replay import ReplayOptions
from enode_scheduler.backtest.report import summarise
from enode_scheduler.backtest.sessions import home_zone, read_sessions
from enode_scheduler.commands.backtest import run
from enode_scheduler.prices.file import read_price_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=None, help="Only the first N sessions.")
    parser.add_argument("--start-penalty", type=float, default=0.0, help="EUR per start.")
    args = parser.parse_args()
    sessions_path = default_sessions()
    sessions = read_sessions(sessions_path)[: args.sample]
    options = ReplayOptions(start_penalty=args.start_penalty)
    table = Table(title=f"backtest: {len(sessions):,} Norway sessions, EUR, wholesale prices")
    for column in ("prices", "baseline", "planned", "foresight", "saving", "gap", "captured", "s"):
        table.add_column(column, justify="right")
    for path in default_prices():
        name = path.stem
        series = PriceSeries(read_price_csv(path))
        began = time.perf_counter()
        outcomes, skipped = run(
            sessions,
            series,
            name,
            home_tz=home_zone(sessions_path),
            price_tz=zone_of(path.name),
            options=options,
        )
        s = summarise(name, outcomes, skipped=skipped)
        table.add_row(
            name,
            f"{s.baseline_cost:,.0f}",
            f"{s.planned_cost:,.0f}",
            f"{s.foresight_cost:,.0f}",
            f"{s.saving:,.0f} ({s.percent(s.saving):.1f} %)",
            f"{s.gap:,.0f} ({s.percent(s.gap):.2f} %)",
            f"{s.captured_percent():.1f} %",
            f"{time.perf_counter() - began:.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
