"""The operator's fleet page at 10,000 cars on SQLite: one cold build, then pages from memory.

Run: python benchmarks/web_fleet.py [--cars N]
Prints the time of the fleet view's cold build (the batched reads), of a page served from memory
(filter, paginate, render), of a search over the whole fleet, and of a car page.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from rich.console import Console
from rich.table import Table

from enode_scheduler.api.app import create_api
from enode_scheduler.api.auth import hash_token
from enode_scheduler.api.deps import ApiDeps, WebSources
from enode_scheduler.clock import FakeClock
from enode_scheduler.config import ApiSettings, ApiToken, DatabaseSettings
from enode_scheduler.planner.models import Schedule, Slot, Window
from enode_scheduler.records import PlanRecord, ScheduleRecord, VehicleReading
from enode_scheduler.store import open_store

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
TOKEN = "benchmark-token-0123456789"


async def _seed(store: object, cars: int) -> None:
    s = store  # the SQL store facade
    readings = [
        VehicleReading(
            f"car-{i:05d}",
            f"user-{i // 2:05d}",
            "TESLA",
            NOW,
            True,
            40.0 + i % 50,
            True,
            False,
            None,
            75.0,
            100.0,
            charging_location_id=f"home-{i // 2:05d}",
        )
        for i in range(cars)
    ]
    await s.vehicles.save_readings(readings)  # type: ignore[attr-defined]
    deadline = NOW + timedelta(hours=13)
    window = Window(NOW + timedelta(hours=6), NOW + timedelta(hours=9))
    schedule = Schedule(True, (window,), 30.0, 3.0, 1, 80.0, 5.0, ("cheapest",))
    for r in readings:
        # At the plan's location, so the rows are controlled cars, not `no_location` problems.
        plan = PlanRecord(
            r.vehicle_id, r.user_id, 80.0, deadline=deadline, location_id=r.charging_location_id
        )
        await s.plans.put_plan(plan)  # type: ignore[attr-defined]
    await s.schedules.save_schedules(  # type: ignore[attr-defined]
        [ScheduleRecord(r.vehicle_id, schedule, deadline, NOW) for r in readings]
    )
    slots = [
        Slot(NOW + timedelta(hours=h), NOW + timedelta(hours=h + 1), 0.1) for h in range(-24, 36)
    ]
    await s.prices.upsert_slots("NO1", slots)  # type: ignore[attr-defined]


async def _time(client: httpx.AsyncClient, path: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.median(times) * 1000


async def main_async(cars: int) -> None:
    clock = FakeClock(NOW)
    with tempfile.TemporaryDirectory() as tmp:
        settings = DatabaseSettings(url=f"sqlite:///{tmp}/bench.db", auto_migrate=True)
        async with open_store(settings, state_dir=Path(tmp), clock=clock) as store:
            await _seed(store, cars)
            web = WebSources(prices=store.prices, zone="NO1", zone_timezone="Europe/Oslo")
            deps = ApiDeps(
                users=store.users, vehicles=store.vehicles, plans=store.plans,
                schedules=store.schedules, intents=store.intents, overrides=store.overrides,
                sites=store.sites, clock=clock, locations=store.locations, web=web,
            )  # fmt: skip
            token = ApiToken(name="bench", scope="read", sha256=hash_token(TOKEN))
            app = create_api(deps, ApiSettings(tokens=(token,)))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                cold = await _time(client, "/", 1)
                warm = await _time(client, "/?page=100", 20)
                fragment = await _time(client, "/", 20)
                search = await _time(client, "/?q=user-04", 20)
                car = await _time(client, "/cars/car-00042", 20)
    table = Table(title=f"web page, {cars:,} cars on SQLite (median ms)")
    for column in ("fleet, cold build", "fleet page 100", "fleet page 1", "search", "car page"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{v:.1f}" for v in (cold, warm, fragment, search, car)))
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cars", type=int, default=10_000)
    asyncio.run(main_async(parser.parse_args().cars))


if __name__ == "__main__":
    main()
