"""The wake relay on real databases: a trigger at one replica reaches every replica once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.daemon.wakeups import WakeRelay
from enode_scheduler.store.engine import create_engine
from enode_scheduler.store.wakes import SqlWakes

WAIT_S = 20.0  # a hang guard, nothing is timed


class Replica:
    """The triggers of one daemon, counting what reached them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.replans: Counter[str] = Counter()
        self.reconciles: Counter[str] = Counter()
        self._arrived = asyncio.Event()
        self.relay = WakeRelay(SqlWakes(engine), replan=self.replan, reconcile=self.reconcile)

    async def replan(self, vehicle_id: str) -> None:
        self.replans[vehicle_id] += 1
        self._arrived.set()

    async def reconcile(self, vehicle_id: str) -> None:
        self.reconciles[vehicle_id] += 1
        self._arrived.set()

    async def until_reconciled(self, vehicle_id: str) -> None:
        async with asyncio.timeout(WAIT_S):
            while vehicle_id not in self.reconciles:
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def engines(postgres_url: str, tmp_path: Path) -> AsyncIterator[list[AsyncEngine]]:
    settings = DatabaseSettings(url=postgres_url)
    made = [create_engine(settings, state_dir=tmp_path) for _ in range(2)]
    yield made
    for engine in made:
        await engine.dispose()


async def _running(stack: AsyncExitStack, replica: Replica) -> Replica:
    await stack.enter_async_context(replica.relay.running())
    async with asyncio.timeout(WAIT_S):
        await replica.relay.wait_listening()
    return replica


async def test_a_trigger_reaches_every_replica_once(engines: list[AsyncEngine]) -> None:
    async with AsyncExitStack() as stack:
        here = await _running(stack, Replica(engines[0]))
        there = await _running(stack, Replica(engines[1]))
        # As a webhook does for a car plugged in: a replan and a reconcile per car.
        for vid in ("veh-1", "veh-2"):
            await here.relay.request_replan(vid)
            await here.relay.request_reconcile(vid)
        await here.relay.request_reconcile("marker")  # published after the rest
        for replica in (here, there):
            await replica.until_reconciled("marker")
    for replica in (here, there):
        assert replica.reconciles == Counter({"veh-1": 1, "veh-2": 1, "marker": 1})
        # Once per wake-up: the daemon's replan picks up every changed plan at once.
        assert sum(replica.replans.values()) == 1


async def test_sqlite_calls_the_local_triggers_directly(tmp_path: Path) -> None:
    settings = DatabaseSettings(url=f"sqlite:///{tmp_path / 'one.db'}")
    engine = create_engine(settings, state_dir=tmp_path)
    try:
        replica = Replica(engine)
        async with replica.relay.running():
            await replica.relay.request_replan("veh-1")
            await replica.relay.request_reconcile("veh-1")
            # Nothing asynchronous in between: the calls acted before they returned.
            assert replica.replans == Counter({"veh-1": 1})
            assert replica.reconciles == Counter({"veh-1": 1})
    finally:
        await engine.dispose()
