"""Start-up time of the `enode-scheduler` command: median, min and max wall time of N runs.

Run from the repository root: python benchmarks/cli_start.py [--runs 10] [--check]
Each command runs as a subprocess of the installed entry point (the `enode-scheduler` script
beside this Python, else the one on PATH), so the figures include the interpreter's start.
`plan-case` plans a one-day case of 96 quarter-hour prices that this script writes itself.
With --check the exit status is 1 when a median misses its target. Imports nothing of the
project, so that its own start-up cannot skew the measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

CASE_START = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    label: str
    args: list[str]
    target_s: float


def _entry_point() -> str:
    beside = Path(sys.executable).parent / "enode-scheduler"
    if beside.exists():
        return str(beside)
    found = shutil.which("enode-scheduler")
    if found is None:
        sys.exit("cli_start: no enode-scheduler entry point; pip install -e . first")
    return found


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_case(path: Path) -> None:
    """A planner-case.md case: 60 kWh at 30 %, to 80 % by the next morning, 96 slots."""
    prices = []
    for index in range(96):
        start = CASE_START + timedelta(minutes=15 * index)
        # An evening peak and a night trough, so that the plan has a real choice to make.
        hour = start.hour
        price = 0.30 if 17 <= hour < 21 else 0.08 if 0 <= hour < 5 else 0.18
        prices.append(
            {
                "start": _iso(start),
                "end": _iso(start + timedelta(minutes=15)),
                "price_per_kwh": round(price + 0.001 * (index % 7), 4),
            }
        )
    case = {
        "now": _iso(CASE_START + timedelta(minutes=5)),
        "vehicle": {
            "battery_capacity_kwh": 60.0,
            "soc_percent": 30.0,
            "max_charge_kw": 7.4,
            "charge_efficiency": 0.9,
            "charging_now": False,
        },
        "goal": {
            "target_soc_percent": 80.0,
            "deadline": _iso(CASE_START + timedelta(hours=19)),
            "min_soc_percent": 0.0,
            "start_penalty": 0.0,
        },
        "prices": prices,
    }
    path.write_text(json.dumps(case), encoding="utf-8")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_runs(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run; a failing run stops the benchmark (a crash is not
    fast). CPU time shows what the command costs when other load stretches the wall time."""
    # A fixed environment: no config file from the caller's shell changes what starts.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENODE_SCHEDULER")}
    wall, cpu = [], []
    for _ in range(runs):
        cpu_before, begin = _children_cpu(), time.perf_counter()
        done = subprocess.run(command, capture_output=True, env=env, check=False)
        wall.append(time.perf_counter() - begin)
        cpu.append(_children_cpu() - cpu_before)
        if done.returncode != 0:
            sys.exit(f"cli_start: {' '.join(command)} exited {done.returncode}: {done.stderr!r}")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs per command (default 10).")
    parser.add_argument(
        "--check", action="store_true", help="Exit 1 when a median misses its target."
    )
    args = parser.parse_args()
    entry = _entry_point()
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case.json"
        write_case(case)
        rows = [
            Row("--version", ["--version"], 0.25),
            Row("--help", ["--help"], 0.25),
            Row("plan-case CASE.json", ["plan-case", str(case)], 0.35),
        ]
        # One untimed run warms the page cache and writes the .pyc files.
        time_runs([entry, "--version"], 1)
        results = [(row, time_runs([entry, *row.args], args.runs)) for row in rows]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"enode-scheduler start-up, {args.runs} runs each; {os.cpu_count()} CPUs, load {load:.2f}"
    )
    header = ("command", "median s", "min s", "max s", "target s", "met", "CPU s")
    print(f"{header[0]:<22}" + "".join(f"{h:>10}" for h in header[1:]))
    missed = False
    for row, (times, cpu) in results:
        median = statistics.median(times)
        met = median <= row.target_s
        missed = missed or not met
        print(
            f"{row.label:<22}{median:>10.3f}{min(times):>10.3f}{max(times):>10.3f}"
            f"{row.target_s:>10.2f}{'yes' if met else 'NO':>10}{statistics.median(cpu):>10.3f}"
        )
    print("(wall seconds; CPU s is the median user+sys time of one run)")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
