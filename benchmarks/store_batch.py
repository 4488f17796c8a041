"""How fast the SQL store takes a fleet's readings and a day of prices, per backend.

    python benchmarks/store_batch.py [--vehicles 20000] [--postgres URL]

Prints one row per (backend, operation). PostgreSQL runs when a server URL is given (or
ENODE_SCHEDULER_TEST_POSTGRES_URL is set); it creates and drops its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, Python puts benchmarks/ on sys.path; the imports below need the repository
# root (and take this working tree's enode_scheduler first, as PYTHONPATH=. did).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy.engine import make_url

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.planner.models import Slot
from enode_scheduler.records import VehicleReading
from enode_scheduler.store import Store, open_store

START = datetime(2026, 1, 5, tzinfo=UTC)


def readings(count: int, minute: int) -> list[VehicleReading]:
    seen = START + timedelta(minutes=minute)
    return [
        VehicleReading(
            f"v{i}",
            f"u{i // 2}",
            "TESLA",
            seen,
            True,
            50.0 + minute % 40,
            True,
            False,
            None,
            75.0,
            90.0,
        )
        for i in range(count)
    ]


async def timed(
    label: str, fn: Callable[[], Awaitable[object]], rows: list[tuple[str, float]]
) -> None:
    began = time.perf_counter()
    await fn()
    rows.append((label, time.perf_counter() - began))


async def run(store: Store, vehicles: int) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    slots = [
        Slot(START + timedelta(minutes=15 * i), START + timedelta(minutes=15 * (i + 1)), 0.1)
        for i in range(96)
    ]
    await timed(
        f"save_readings x{vehicles} (new)",
        lambda: store.vehicles.save_readings(readings(vehicles, 0)),
        rows,
    )
    await timed(
        f"save_readings x{vehicles} (update)",
        lambda: store.vehicles.save_readings(readings(vehicles, 5)),
        rows,
    )
    await timed(f"latest_readings x{vehicles}", store.vehicles.latest_readings, rows)
    await timed("upsert_slots x96 (new)", lambda: store.prices.upsert_slots("NO2", slots), rows)
    await timed(
        "upsert_slots x96 (unchanged)", lambda: store.prices.upsert_slots("NO2", slots), rows
    )
    await timed("shard claim x100 (256 shards)", lambda: _claims(store), rows)
    return rows


async def _claims(store: Store) -> None:
    for _ in range(100):
        await store.shards.claim("bench", wanted=256, total=256, ttl_s=30)


async def admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(
        make_url(server).set(drivername="postgresql").render_as_string(False)
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20000)
    parser.add_argument("--postgres", default=os.environ.get("ENODE_SCHEDULER_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        name = f"bench_store_{secrets.token_hex(4)}"
        if args.postgres:
            await admin(args.postgres, f'CREATE DATABASE "{name}"')
            backends.append(
                ("postgresql", make_url(args.postgres).set(database=name).render_as_string(False))
            )
        try:
            print(f"{'backend':<12}{'operation':<40}{'seconds':>10}")
            for backend, url in backends:
                settings = DatabaseSettings(url=url, auto_migrate=True)
                async with open_store(settings, state_dir=Path(tmp)) as store:
                    for label, seconds in await run(store, args.vehicles):
                        print(f"{backend:<12}{label:<40}{seconds:>10.3f}")
        finally:
            if args.postgres:
                await admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
