"""The API app over each store backend (memory, SQLite, PostgreSQL), driven in-process by httpx.

`api` runs a test on every backend; `mem_api` on the in-memory twins only (for tests about HTTP
behaviour, not storage). PostgreSQL uses one fresh database per session, emptied per test.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.clock import FakeClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.store import open_store
from enode_scheduler.store.schema import Base
from enode_scheduler.testing import InMemoryStore
from tests.conftest import POSTGRES_URL_ENV, postgres_url_from_env
from tests.integration.api.support import (
    NOW,
    WEBHOOK_SECRET,
    MemoryLinkFlow,
    Triggers,
    api_settings,
)


@dataclass
class Api:
    client: httpx.AsyncClient
    deps: ApiDeps
    clock: FakeClock
    triggers: Triggers
    link: MemoryLinkFlow
    backend: str


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _run(coro: Coroutine[Any, Any, None]) -> None:
    # Session fixtures are first requested from inside a test's running loop: use a thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def api_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session's API tests, dropped at the end."""
    base = postgres_url_from_env()
    if base is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV}")
    name = f"test_api_{secrets.token_hex(4)}"
    _run(_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    _run(_migrate(url))
    yield url
    _run(_admin(base, f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test copies it instead of migrating again."""
    path = tmp_path_factory.mktemp("api-sqlite") / "template.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _migrate(url: str) -> None:
    settings = DatabaseSettings(url=url, auto_migrate=True)
    with tempfile.TemporaryDirectory() as state_dir:
        async with open_store(settings, state_dir=Path(state_dir)):
            pass


async def _empty_postgres(url: str) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    await _admin(url, f"TRUNCATE {names} RESTART IDENTITY CASCADE")


async def _sql_deps(
    stack: AsyncExitStack, url: str, tmp_path: Path, clock: FakeClock
) -> dict[str, Any]:
    settings = DatabaseSettings(url=url)
    store = await stack.enter_async_context(open_store(settings, state_dir=tmp_path, clock=clock))
    return {"store": store, "overrides": store.overrides}


async def _build(
    backend: str, stack: AsyncExitStack, tmp_path: Path, clock: FakeClock, request: Any
) -> dict[str, Any]:
    if backend == "memory":
        store = InMemoryStore.create(clock=clock)
        return {"store": store, "overrides": store.overrides}
    if backend == "sqlite":
        path = tmp_path / "api.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return await _sql_deps(stack, f"sqlite+aiosqlite:///{path}", tmp_path, clock)
    url = request.getfixturevalue("api_postgres_url")
    await _empty_postgres(url)
    return await _sql_deps(stack, url, tmp_path, clock)


async def _api(backend: str, request: Any, tmp_path: Path) -> AsyncIterator[Api]:
    clock = FakeClock(NOW)
    triggers = Triggers()
    async with AsyncExitStack() as stack:
        built = await _build(backend, stack, tmp_path, clock, request)
        store = built["store"]
        link = MemoryLinkFlow(clock, store.tokens)
        deps = ApiDeps(
            users=store.users,
            vehicles=store.vehicles,
            plans=store.plans,
            schedules=store.schedules,
            intents=store.intents,
            overrides=built["overrides"],
            sites=store.sites,
            clock=clock,
            link=link,
            request_replan=triggers.replan,
            request_reconcile=triggers.reconcile,
            locations=store.locations,
        )
        app = create_api(deps, api_settings(), webhook_secret=WEBHOOK_SECRET)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield Api(client, deps, clock, triggers, link, backend)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    """The API over one store backend."""
    async for value in _api(request.param, request, tmp_path):
        yield value


@pytest.fixture
async def mem_api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    """The API over the in-memory twins."""
    async for value in _api("memory", request, tmp_path):
        yield value
