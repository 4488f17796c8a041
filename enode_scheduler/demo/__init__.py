"""`enode-scheduler demo`: the real daemon against a fake Enode, through simulated nights."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rich.console import Console
from rich.live import Live

from enode_scheduler.config import Co2Settings
from enode_scheduler.demo import runner
from enode_scheduler.demo.report import live_table, report_json, report_table


def run_demo(
    *,
    plot: Path | None,
    as_json: bool,
    nights: int,
    speed: float,
    co2: Co2Settings | None = None,
) -> int:
    """Run the demo and print the live table and report (or the JSON object); exit code."""
    console = Console(stderr=as_json)
    if as_json:
        demo = asyncio.run(runner.run(nights=nights, speed=speed, co2=co2))
    else:
        console.print(
            "Starting a fake Enode with 6 cars and the real daemon on a SQLite file; "
            f"{nights} simulated night(s) at up to {speed:g}x real time on real NO1 prices.\n"
        )
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            demo = asyncio.run(
                runner.run(
                    nights=nights,
                    speed=speed,
                    on_tick=lambda d: live.update(live_table(d)),
                    co2=co2,
                )
            )
        console.print(report_table(demo))
    if plot is not None:
        from enode_scheduler.demo.plot import draw  # matplotlib is optional

        draw(demo, plot)
        if not as_json:
            console.print(f"plot written to {plot}")
    if as_json:
        print(json.dumps(report_json(demo)))
    return 0
