"""A sim on loopback, an EnodeClient against it, and a spec check of every exchange."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode import EnodeClient, open_enode_client
from enode_scheduler.records import UserTokens
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
from enode_scheduler.testing import InMemoryUserStore
from tests.integration.enode.spec_check import CheckingTransport, SpecChecker

START = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
USERS = ("alice", "bob")


class ClockDriver:
    """Moves a FakeClock forward in small steps while real I/O runs, like time passing."""

    def __init__(self, clock: FakeClock, *, step_s: float = 0.05) -> None:
        self.clock = clock
        self.step_s = step_s
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            await self.clock.advance(self.step_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def driver(clock: FakeClock) -> AsyncIterator[ClockDriver]:
    driver = ClockDriver(clock)
    driver.start()
    yield driver
    await driver.stop()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[RunningSim]:
    config = SimConfig(vehicles=4, users=2, user_ids=USERS, seed=3, command_delay_s=0.0)
    async with run_sim(config, clock=clock) as running:
        yield running


@pytest.fixture
def checker(sim: RunningSim) -> SpecChecker:
    return SpecChecker.load(sim.api_url)


@pytest.fixture
def make_settings(sim: RunningSim) -> Callable[..., EnodeSettings]:
    def make(**overrides: Any) -> EnodeSettings:
        values: dict[str, Any] = {
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "api_url": sim.api_url,
            "token_url": sim.token_url,
            "authorize_url": sim.authorize_url,
            "redirect_uri": "http://127.0.0.1:8765/oauth/callback",
            "max_requests_per_s": 500.0,
            "read_timeout_s": 2.0,
            "connect_timeout_s": 2.0,
            "backoff_base_s": 1.0,
            "backoff_cap_s": 60.0,
        }
        values.update(overrides)
        return EnodeSettings(**values)

    return make


@pytest.fixture
def store(sim: RunningSim, clock: FakeClock) -> InMemoryUserStore:
    """Tokens for every seeded user, as if each had linked."""
    token_store = InMemoryUserStore()
    for user_id in USERS:
        issued = sim.state.issue_user_token(user_id)
        expires_at = datetime.fromtimestamp(clock.now().timestamp() + issued.expires_in_s, UTC)
        token_store.tokens[user_id] = UserTokens(
            issued.access_token, issued.refresh_token, expires_at
        )
    return token_store


@pytest.fixture
def make_client(
    make_settings: Callable[..., EnodeSettings],
    store: InMemoryUserStore,
    clock: FakeClock,
    checker: SpecChecker,
) -> Callable[..., contextlib.AbstractAsyncContextManager[EnodeClient]]:
    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[EnodeClient]:
        settings = make_settings(**overrides)
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        transport = CheckingTransport(checker)
        async with (
            httpx.AsyncClient(transport=transport, timeout=timeout) as http,
            open_enode_client(
                settings, token_store=store, clock=clock, http=http, rng=random.Random(11)
            ) as client,
        ):
            yield client

    return make


@pytest.fixture
async def client(
    make_client: Callable[..., contextlib.AbstractAsyncContextManager[EnodeClient]],
    checker: SpecChecker,
    driver: ClockDriver,
) -> AsyncIterator[EnodeClient]:
    """A client whose FakeClock moves on by itself (the pace limit waits on it)."""
    async with make_client() as enode:
        yield enode
    assert checker.violations == []


def vehicles_of(sim: RunningSim, user_id: str) -> list[str]:
    return sorted(v.id for v in sim.state.vehicles.values() if v.user_id == user_id)
