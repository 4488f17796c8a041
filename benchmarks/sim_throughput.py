"""Requests per second the sim answers on loopback, by fleet size and concurrency.

Run: python benchmarks/sim_throughput.py [--seconds 2]
Each row: N vehicles over N/2 users, C concurrent httpx callers reading charge states of
random vehicles of user-1 (GET /vehicles/{id}/charge-state) and the full list with all fields.
Client and server share one process, so httpx's own cost (several ms per request on a busy
machine) is in the numbers; a raw socket client sees the sim answer in about 1-2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, Python puts benchmarks/ on sys.path; the imports below need the repository
# root (and take this working tree's enode_scheduler first, as PYTHONPATH=. did).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from rich.console import Console
from rich.table import Table

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import SimConfig, run_sim

FIELDS = [("field[]", f) for f in ("chargeState", "information", "location", "smartChargingPolicy")]


async def _caller(http: httpx.AsyncClient, ids: list[str], until: float, rng: random.Random) -> int:
    done = 0
    while time.perf_counter() < until:
        if rng.random() < 0.9:
            response = await http.get(f"/vehicles/{rng.choice(ids)}/charge-state")
        else:
            response = await http.get("/vehicles", params=FIELDS)
        response.raise_for_status()
        done += 1
    return done


async def _row(vehicles: int, callers: int, seconds: float) -> tuple[int, float]:
    config = SimConfig(vehicles=vehicles, users=max(1, vehicles // 2), seed=1)
    async with run_sim(config, clock=FakeClock(datetime(2026, 1, 5, tzinfo=UTC))) as sim:
        token = sim.state.issue_user_token("user-1").access_token
        ids = [v.id for v in sim.state.vehicles.values() if v.user_id == "user-1"]
        limits = httpx.Limits(max_connections=callers)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=sim.api_url, headers=headers, limits=limits) as http:
            until = time.perf_counter() + seconds
            rng = random.Random(0)
            counts = await asyncio.gather(*(_caller(http, ids, until, rng) for _ in range(callers)))
    total = sum(counts)
    return total, total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="Duration of each row.")
    args = parser.parse_args()
    table = Table(title="sim throughput (client and server share one process and core)")
    for column in ("vehicles", "callers", "requests", "requests/s"):
        table.add_column(column, justify="right")
    for vehicles, callers in ((4, 1), (4, 10), (1000, 10), (1000, 100), (20000, 10)):
        total, rate = asyncio.run(_row(vehicles, callers, args.seconds))
        table.add_row(str(vehicles), str(callers), str(total), f"{rate:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
