from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.exceptions import PriceSourceUnavailable
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.file import PACKAGED_DATA_DIR, read_price_csv
from enode_scheduler.prices.normalise import clip
from enode_scheduler.prices.refresh import PriceRefreshJob, RefreshStatus
from enode_scheduler.prices.zones import get_zone
from enode_scheduler.store import open_store
from enode_scheduler.testing import InMemoryPriceSource

NO1 = get_zone("NO1")
QUARTERS = read_price_csv(PACKAGED_DATA_DIR / "NO1_2025_15min_demo.csv")


def day(d: date) -> list[Slot]:
    start, end = NO1.day_bounds(d)
    return clip(QUARTERS, start=start, end=end)


@pytest.fixture
async def fresh_postgres_url(postgres_url: str) -> AsyncIterator[str]:
    """A database of its own on the shared server, dropped afterwards."""
    name = f"test_prices_{secrets.token_hex(4)}"
    admin = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{postgres_url.rsplit('/', 1)[0]}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> DatabaseSettings:
    if request.param == "sqlite":
        return DatabaseSettings(auto_migrate=True)
    url = request.getfixturevalue("fresh_postgres_url")
    return DatabaseSettings(url=url, auto_migrate=True)


async def test_refresh_into_sql_stores_once_and_keeps_data_on_failure(
    tmp_path: Path, database: DatabaseSettings
) -> None:
    today, tomorrow = date(2025, 10, 25), date(2025, 10, 26)
    clock = FakeClock(datetime(2025, 10, 25, 11, 30, tzinfo=UTC))  # after 13:00 CEST
    source = InMemoryPriceSource()
    source.publish("NO1", day(today) + day(tomorrow))
    replans: list[int] = []

    async def replan(zone: str, slots: list[Slot]) -> None:
        replans.append(len(slots))

    async with open_store(database, state_dir=tmp_path, clock=clock) as store:
        job = PriceRefreshJob(
            zone="NO1", source=source, store=store.prices, clock=clock, on_new_slots=replan
        )
        first = await job.run_once(clock.now())
        second = await job.run_once(clock.now())
        source.fail_with(PriceSourceUnavailable("down"))
        failed = await job.run_once(clock.now() + timedelta(days=1))
        start, end = NO1.day_bounds(tomorrow)
        stored = await store.prices.get_slots("NO1", start=start, end=end)

    assert (first.status, first.changed_slots) == (RefreshStatus.COMPLETE, 96 + 100)
    assert (second.status, second.changed_slots) == (RefreshStatus.COMPLETE, 0)
    assert failed.status is RefreshStatus.FAILED
    assert replans == [196]
    assert stored == day(tomorrow)
    assert len(stored) == 100
