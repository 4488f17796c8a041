"""Two daemons in one process on one PostgreSQL database share the fleet by shards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enode_scheduler.bootstrap import Deps, build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.shards import shard_of
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
from tests.e2e.harness import create_pg_database, drop_pg_database
from tests.unit.daemon.support import add_plan, daemon_settings, link_user

pytestmark = pytest.mark.postgres

START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)
DEADLINE = datetime(2025, 10, 24, 5, 0, tzinfo=UTC)
SHARDS = 4
# Four shards: the first replica keeps shards 0 and 1 (a replica keeps its lowest) with u1's car,
# the second takes 2 and 3 with u2's.
USERS = {"u1": "car-1", "u2": "car-2"}
SCHEDULER = SchedulerSettings(
    verify_delay_s=90, deadline_margin_s=600, shards=SHARDS, lease_ttl_s=1.5
)


def test_the_users_are_in_the_expected_shards() -> None:
    assert [shard_of(u, SHARDS) for u in USERS] == [1, 2]


async def until(check: Callable[[], bool], *, timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    url = create_pg_database(postgres_url)
    yield url
    drop_pg_database(postgres_url, url)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    clock = ScaledClock(start=START, speed=600)
    config = SimConfig(vehicles=0, users=2, user_ids=tuple(USERS), smart_charging_every=0)
    async with run_sim(config, clock=clock) as running:
        for user, car in USERS.items():
            running.state.add_vehicle(
                user, vendor="TESLA", id=car, soc_percent=40.0, charge_limit_percent=100.0
            )
            running.state.plug(car)
        yield running


async def test_replicas_split_the_shards_and_one_takes_all_when_the_other_stops(
    tmp_path: Path, sim: RunningSim, pg_url: str
) -> None:
    clock = ScaledClock(start=START, speed=600)
    settings = daemon_settings(tmp_path, sim, database_url=pg_url, scheduler=SCHEDULER)
    async with AsyncExitStack() as stack:
        deps_a: Deps = await stack.enter_async_context(build(settings, clock=clock))
        deps_b: Deps = await stack.enter_async_context(build(settings, clock=clock))
        for user, car in USERS.items():
            await link_user(deps_a.store, sim, user, now=clock.now())
            await add_plan(
                deps_a.store, car, user, target=60.0, deadline=DEADLINE,
                location_id=sim.state.home_location_id(user),
            )  # fmt: skip
        a = Daemon(deps_a, install_signals=False, holder="a")
        b = Daemon(deps_b, install_signals=False, holder="b")
        run_a = asyncio.create_task(a.run())
        await asyncio.wait_for(a.ready_event.wait(), timeout=15)
        assert a.ownership.owned == set(range(SHARDS))  # alone: the whole fleet
        run_b = asyncio.create_task(b.run())
        await asyncio.wait_for(b.ready_event.wait(), timeout=15)
        # b takes only free shards; a frees its surplus at its next renewal and b takes it.
        await until(lambda: len(b.ownership.owned) == 2)
        await until(lambda: set(a.reconciler.cars) == {"car-1"})
        await until(lambda: set(b.reconciler.cars) == {"car-2"})
        assert a.ownership.owned == {0, 1}
        assert b.ownership.owned == {2, 3}
        assert (a.ownership.coordinator, b.ownership.coordinator) == (True, False)
        ready_a, ready_b = a._ready()[1], b._ready()[1]
        assert (ready_a["coordinator"], ready_a["shards_owned"], ready_a["cars"]) == (True, 2, 1)
        assert (ready_b["leader"], ready_b["holder"], ready_b["shards_total"]) == (False, "b", 4)
        # Prices are fetched by the coordinator alone; b follows what it stored.
        assert a._prices_next_at is not None
        assert b._prices_next_at is None
        # The fleet's request rate is shared by shards.
        assert deps_b.enode._transport.pacer.max_requests_per_s == pytest.approx(50 * 2 / 4)
        # Each heartbeat reports what the replica held at its previous renewal.
        for _ in range(100):
            replicas = await deps_a.store.shards.replicas()
            if [(r.holder, r.shards_owned) for r in replicas] == [("a", 2), ("b", 2)]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"heartbeats say {replicas}")
        assert [r.cars for r in replicas] == [1, 1]
        # A clean stop releases b's shards at once; a takes them at its next renewal.
        b.stop()
        assert await asyncio.wait_for(run_b, timeout=15) == 0
        await until(lambda: a.ownership.owned == set(range(SHARDS)))
        await until(lambda: set(a.reconciler.cars) == set(USERS.values()))
        assert deps_a.enode._transport.pacer.max_requests_per_s == pytest.approx(50)
        a.stop()
        assert await asyncio.wait_for(run_a, timeout=15) == 0
        assert {lease.holder for lease in await deps_a.store.shards.leases()} == {None}
