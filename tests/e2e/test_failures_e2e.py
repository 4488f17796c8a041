"""Failures stay small (issue 15), with real processes: the daemon against the fake Enode and a
PostgreSQL reached through a proxy the test makes refuse connections, as a server restart does."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.records import PlanRecord, UserTokens
from enode_scheduler.store import open_store
from enode_scheduler.store.schema import users_table
from tests.e2e.dbproxy import DbProxy
from tests.e2e.harness import (
    create_pg_database,
    drop_pg_database,
    free_port,
    sim_time,
    until,
)
from tests.e2e.scenario import DEADLINE, HA_SHARDS, SCHEDULER, Car, Night, gained_user_shard
from tests.e2e.test_daemon_e2e import END, assert_targets_met, sent_intents

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# 10 simulated hours in half a minute: a 6 s database outage is two hours of the night (the
# daemon's backoff, readiness and log pacing are wall-clock, so the outage is wall seconds).
SPEED = 1200.0
OUTAGE_S = 6.0
# The paused leader: slow enough that its waiting commands are still waiting when it wakes.
PAUSE_SPEED = 600.0
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
    night = Night(tmp_path, database_url=proxy.url, speed=SPEED, shards=HA_SHARDS)
    try:
        await night.seed()
        leader = night.start_daemon("leader")
        await until(lambda: gained_user_shard(leader), timeout_s=30, what="lead")
        direct = tmp_path / "direct.toml"
        direct.write_text(night.config.read_text().replace(proxy.url, pg_url))
        night.config, proxied = direct, night.config
        standby = night.start_daemon("standby")
        night.config = proxied
        await until(lambda: bool(standby.events("daemon_started")), timeout_s=30, what="standby")
        assert not gained_user_shard(standby)  # it holds at most the shard without cars

        await proxy.refuse()
        cut_at = time.monotonic()
        await until(lambda: gained_user_shard(standby), timeout_s=15, what="takeover")
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


# Every car below its minimum SoC: all three need a START at the first step.
URGENT = (
    Car("e2e-vw", "VOLKSWAGEN", 77.0, 40.0, 80.0, min_soc_percent=60.0),
    Car("e2e-kona", "HYUNDAI", 64.0, 40.0, 90.0, min_soc_percent=60.0),
    Car("e2e-bmw", "BMW", 42.2, 40.0, 80.0, min_soc_percent=60.0),
)
SLOW_POST_S = 5.0


async def test_a_leader_paused_past_its_lease_while_commands_wait_sends_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    night = Night(tmp_path, database_url=pg_url, cars=URGENT, speed=PAUSE_SPEED, shards=HA_SHARDS)
    try:
        await night.seed()
        # Prices known before the start: the first step plans all three cars together, so their
        # commands go out as one batch.
        settings = DatabaseSettings(url=pg_url)
        async with open_store(settings, state_dir=tmp_path, clock=night.timeline.clock()) as store:
            await store.prices.upsert_slots("NO1", await night.prices())
        # One command at a time behind a slow vendor: the second and third wait in the sender.
        night.config.write_text(
            night.config.read_text().replace(
                "[scheduler]\n", "[scheduler]\nmax_concurrent_commands = 1\n"
            )
        )
        night.sim.control(
            "POST", "/faults",
            {"kind": "slow", "path_prefix": "/vehicles", "method": "POST",
             "delay_s": SLOW_POST_S},
        )  # fmt: skip
        old = night.start_daemon("old")
        await until(lambda: gained_user_shard(old), timeout_s=30, what="lead")
        new = night.start_daemon("new")
        await until(lambda: bool(new.events("daemon_started")), timeout_s=30, what="standby")
        await until(lambda: bool(night.sim.log("/vehicles/e2e")), timeout_s=10, what="reads")
        # Paused while its first command is with the vendor and two more wait behind it.
        await asyncio.sleep(1.0)
        os.kill(old.proc.pid, signal.SIGSTOP)
        await until(lambda: gained_user_shard(new), timeout_s=15, what="takeover")
        await asyncio.sleep(TTL_S)
        os.kill(old.proc.pid, signal.SIGCONT)
        await until(
            lambda: bool(old.events("command_dropped")), timeout_s=3 * SLOW_POST_S,
            what="the old leader dropping its waiting commands",
        )  # fmt: skip
        await asyncio.sleep(3 * SLOW_POST_S)
        # At most the command that was already on the wire completed; nothing was posted after.
        assert len(old.events("command_sent")) <= 1
        for car in URGENT:
            actions = [a for _, a in night.sim.commands(car.vehicle_id)]
            assert actions, car.vehicle_id  # the new leader re-decided the dropped ones
            duplicates = [i for i in range(1, len(actions)) if actions[i] == actions[i - 1]]
            assert duplicates == [], (car.vehicle_id, actions)
    finally:
        for daemon in night.daemons:
            if daemon.proc.poll() is None:
                os.kill(daemon.proc.pid, signal.SIGCONT)
        night.close()


async def test_a_fleet_with_one_undecryptable_user_meets_every_other_goal(
    tmp_path: Path, pg_url: str
) -> None:
    # No outage to time here: the whole night at the e2e suite's own speed (15 s).
    night = Night(tmp_path, database_url=pg_url)
    try:
        await night.seed()
        # A second user whose stored token no configured key decrypts (written under a key that
        # is gone): only that user's car may miss its goal.
        night.sim.add_car(
            "e2e-lost", "e2e-lost-user", vendor="TESLA", capacity_kwh=60.0, max_charge_kw=11.0,
            efficiency=0.9, soc_percent=40.0, charge_limit_percent=100.0, plugged_in=True,
            charging=False, reasons=[],
        )  # fmt: skip
        settings = DatabaseSettings(url=pg_url)
        clock = night.timeline.clock()
        async with open_store(settings, state_dir=tmp_path, clock=clock) as store:
            expires = clock.now() + timedelta(days=1)
            await store.tokens.save_tokens("e2e-lost-user", UserTokens("a", "r", expires))
            await store.plans.put_plan(
                PlanRecord(vehicle_id="e2e-lost", user_id="e2e-lost-user",
                           target_soc_percent=80.0, deadline=DEADLINE)
            )  # fmt: skip
            async with store.engine.begin() as conn:
                await conn.execute(
                    users_table.update()
                    .where(users_table.c.user_id == "e2e-lost-user")
                    .values(access_token_enc=Fernet(Fernet.generate_key()).encrypt(b"x").decode())
                )
        daemon = night.start_daemon()
        await sim_time(night.timeline, END)
        assert await asyncio.to_thread(daemon.terminate) == 0
        assert_targets_met(night)  # the three cars of the user whose tokens work
        trouble = [e for e in daemon.events("vehicle_trouble") if e["vehicle_id"] == "e2e-lost"]
        assert trouble
        assert trouble[0]["reason"] == "token_undecryptable"
        # Retried hourly (the slow cadence) over the ten-hour night, one line per retry at most,
        # while the fleet's steps run by the hundred.
        assert len(trouble) <= 12
        assert len(daemon.events("reconcile_done")) > 10 * len(trouble)
        assert daemon.events("reconcile_failed") == []
    finally:
        night.close()
