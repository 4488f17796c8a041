"""Plans per second over a 48-hour horizon of 15-minute slots (192 slots), printed as a table.

Run: python benchmarks/planner_speed.py [--seconds 2]
Prices are real: the 15-minute NO1 series of October 2025, walked in 48-hour windows.
Plans per CPU-second (time.process_time) are the fair figure on a shared machine; plans per
wall-second are printed too, with the load average, so that a busy machine shows as such.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

# Run as a script, Python puts benchmarks/ on sys.path; the imports below need the repository
# root (and take this working tree's enode_scheduler first, as PYTHONPATH=. did).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from enode_scheduler.planner import Goal, Slot, VehicleState, plan
from enode_scheduler.prices.file import read_price_csv

PRICES = Path(__file__).resolve().parents[1] / "data/prices/NO1_2025_15min.csv"
HORIZON_SLOTS = 192


def _cases(slots: list[Slot], penalty: float) -> list[tuple[VehicleState, Goal, list[Slot]]]:
    cases = []
    for first in range(0, len(slots) - HORIZON_SLOTS, 7):
        window = slots[first : first + HORIZON_SLOTS]
        state = VehicleState(
            battery_capacity_kwh=64.0,
            soc_percent=20.0 + first % 40,
            max_charge_kw=7.4,
            charge_efficiency=0.9,
            charging_now=first % 2 == 0,
        )
        deadline = window[-1].end - timedelta(minutes=first % 15)
        goal = Goal(target_soc_percent=80.0, deadline=deadline, start_penalty=penalty)
        cases.append((state, goal, window))
    return cases


def _rate(
    cases: list[tuple[VehicleState, Goal, list[Slot]]], seconds: float
) -> tuple[float, float, int]:
    """Plans per wall-clock second and per CPU second (the latter ignores other load)."""
    done = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while time.process_time() - cpu < seconds:
        state, goal, window = cases[done % len(cases)]
        plan(state, goal, window, now=window[0].start + timedelta(minutes=7))
        done += 1
    return done / (time.perf_counter() - wall), done / (time.process_time() - cpu), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="Time per row.")
    args = parser.parse_args()
    slots = read_price_csv(PRICES)
    table = Table(title=f"planner speed, {HORIZON_SLOTS} x 15-min slots, 64 kWh, 7.4 kW")
    columns = ("start penalty", "plans/CPU-s", "plans/wall-s", "plans run", "target", "met")
    for column in columns:
        table.add_column(column, justify="right")
    for penalty, target in ((0.0, 2000), (0.05, 100), (0.5, 100)):
        wall_rate, cpu_rate, done = _rate(_cases(slots, penalty), args.seconds)
        met = "yes" if cpu_rate >= target else "no"
        row = (f"{penalty:.2f}", f"{cpu_rate:,.0f}", f"{wall_rate:,.0f}", str(done))
        table.add_row(*row, f">= {target:,}", met)
    Console().print(table)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    Console().print(f"{os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
