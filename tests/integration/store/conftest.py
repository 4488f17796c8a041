"""Stores for the contract tests: the in-memory twin, SQLite, and a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.store import open_store
from enode_scheduler.store.schema import Base
from enode_scheduler.testing import InMemoryStore

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def _admin(url: str, sql: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _admin_sync(url: str, sql: str) -> None:
    # A thread of its own: fixtures may ask for a database while an event loop is running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin(url, sql)).result()


class PgDatabases:
    """Creates throw-away databases on the shared server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self) -> str:
        name = f"test_foundation_{secrets.token_hex(4)}"
        _admin_sync(self.server_url, f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.created:
            _admin_sync(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases(postgres_url: str) -> Iterator[PgDatabases]:
    databases = PgDatabases(postgres_url)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def pg_store_url(pg_databases: PgDatabases) -> str:
    """One database for the session's contract tests; each test empties its tables first."""
    return pg_databases.create()


@pytest.fixture(scope="session")
def pg_scratch_url(pg_databases: PgDatabases) -> str:
    """A database that tests empty completely before use (see `empty_db_url`)."""
    return pg_databases.create()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Any]:
    """The same contract against every implementation of the store ports."""
    if request.param == "memory":
        yield InMemoryStore.create(clock=clock)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_store_url")
    settings = DatabaseSettings(url=url, auto_migrate=True)
    async with open_store(settings, state_dir=tmp_path, clock=clock) as sql_store:
        async with sql_store.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
        yield sql_store


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database (no tables) on each SQL backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("pg_scratch_url")
    # Emptying one database is much faster than creating and dropping one per test.
    _admin_sync(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return url
