"""Failures stay small (issue 15), with real processes: the daemon against the fake Enode and a
PostgreSQL reached through a proxy the test makes refuse connections, as a server restart does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.dbproxy import DbProxy
from tests.e2e.harness import (
    create_pg_database,
    drop_pg_database,
    free_port,
    sim_time,
    until,
)
from tests.e2e.scenario import DEADLINE, SCHEDULER, Night
from tests.e2e.test_daemon_e2e import END, assert_targets_met, sent_intents

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# 10 simulated hours in a minute: a 12 s outage is two hours of the night.
SPEED = 600.0
OUTAGE_S = 12.0
TTL_S = float(SCHEDULER["lease_ttl_s"])


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    url = create_pg_database(postgres_url)
    yield url
    drop_pg_database(postgres_url, url)


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[DbProxy]:
    proxy = DbProxy(pg_url)
    await proxy.accept()
    yield proxy
    await proxy.refuse()


def with_api(config: Path, port: int) -> None:
    config.write_text(config.read_text() + f'[api]\nlisten = "127.0.0.1:{port}"\n')


async def readyz(port: int) -> int:
    async with httpx.AsyncClient(timeout=2) as http:
        return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code


def sim_reads(night: Night) -> int:
    return sum(1 for e in night.sim.log() if e["method"] == "GET")


async def test_postgres_refusing_connections_on_a_single_replica(
    tmp_path: Path, proxy: DbProxy
) -> None:
    night = Night(tmp_path, database_url=proxy.url, speed=SPEED)
    try:
        await night.seed()
        api_port = free_port()
        with_api(night.config, api_port)
        daemon = night.start_daemon()
        await until(lambda: bool(daemon.events("daemon_started")), timeout_s=30, what="start")
        await until(lambda: sim_reads(night) > 0, timeout_s=10, what="first reads")
        assert await readyz(api_port) == 200

        await proxy.refuse()
        down_at = time.monotonic()
        lines_before = len(daemon.log_path.read_text().splitlines())
        await asyncio.sleep(4.0)
        assert await readyz(api_port) == 503  # not ready while no step works
        await asyncio.sleep(OUTAGE_S - 4.0)
        assert daemon.proc.poll() is None  # alive, and its reconcile loop with it
        failed = daemon.events("reconcile_failed")
        assert failed, "the failure is logged"
        lines = len(daemon.log_path.read_text().splitlines()) - lines_before
        # Before: hundreds of lines a second; now the first failure and one line per interval.
        assert lines <= 20, lines
        reads_down = sim_reads(night)

        await proxy.accept()
        back_at = time.monotonic()
        await until(
            lambda: bool(daemon.events("reconcile_recovered")), timeout_s=15, what="recovery"
        )
        assert time.monotonic() - back_at <= 10.0
        await until(lambda: sim_reads(night) > reads_down, timeout_s=10, what="reads again")
        assert await readyz(api_port) == 200
        assert time.monotonic() - down_at >= OUTAGE_S

        await sim_time(night.timeline, END)
        assert await asyncio.to_thread(daemon.terminate) == 0
        assert_targets_met(night)
        sent = await sent_intents(night)
        assert len(sent) == sum(len(night.sim.commands(c.vehicle_id)) for c in night.cars)
    finally:
        night.close()


async def test_a_standby_takes_over_when_the_leaders_database_refuses(
    tmp_path: Path, proxy: DbProxy, pg_url: str
) -> None:
    night = Night(tmp_path, database_url=proxy.url, speed=SPEED)
    try:
        await night.seed()
        leader = night.start_daemon("leader")
        await until(lambda: bool(leader.events("leadership_gained")), timeout_s=30, what="lead")
        direct = tmp_path / "direct.toml"
        direct.write_text(night.config.read_text().replace(proxy.url, pg_url))
        night.config, proxied = direct, night.config
        standby = night.start_daemon("standby")
        night.config = proxied
        await until(lambda: bool(standby.events("daemon_started")), timeout_s=30, what="standby")
        assert standby.events("leadership_gained") == []

        await proxy.refuse()
        cut_at = time.monotonic()
        await until(
            lambda: bool(standby.events("leadership_gained")), timeout_s=15, what="takeover"
        )
        # The bound docs/operations.md states: TTL + a renewal interval (TTL/3), plus the
        # processes' own latency on a busy machine.
        assert time.monotonic() - cut_at <= TTL_S + TTL_S / 3 + 2.0
        sent_by_old = len(leader.events("command_sent"))
        await asyncio.sleep(OUTAGE_S)
        await proxy.accept()
        await asyncio.sleep(3.0)
        assert leader.proc.poll() is None
        assert len(leader.events("command_sent")) == sent_by_old  # the old leader sent nothing

        await sim_time(night.timeline, END)
        assert await asyncio.to_thread(standby.terminate) == 0
        assert_targets_met(night)
        sent = await sent_intents(night)
        assert len(sent) == sum(len(night.sim.commands(c.vehicle_id)) for c in night.cars)
        assert DEADLINE < END
    finally:
        night.close()
