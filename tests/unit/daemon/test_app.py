"""The daemon's lifecycle over real SQLite and real HTTP to an in-process sim on a fast clock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from enode_scheduler.bootstrap import build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.daemon.app import EXIT_STALLED, Daemon
from enode_scheduler.daemon.notify import Notifier
from enode_scheduler.exceptions import AlreadyRunning
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
from tests.unit.daemon.support import NotifyListener, add_plan, daemon_settings, link_user

START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)  # packaged NO1 prices cover this week
DEADLINE = datetime(2025, 10, 24, 5, 0, tzinfo=UTC)


async def until(check: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
    """Wait (real time, for real processes and sockets) until `check()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(start=START, speed=600)


@pytest.fixture
async def sim(clock: ScaledClock) -> AsyncIterator[RunningSim]:
    config = SimConfig(vehicles=0, users=1, user_ids=("u1",), smart_charging_every=0)
    async with run_sim(config, clock=clock) as running:
        running.state.add_vehicle(
            "u1", vendor="TESLA", id="car-1", soc_percent=40.0, charge_limit_percent=100.0
        )
        running.state.plug("car-1")  # starts charging on its own, as real cars do
        yield running


async def test_daemon_serves_health_notifies_systemd_and_stops_cleanly(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    listener = NotifyListener(tmp_path / "notify.sock")
    settings = daemon_settings(tmp_path, sim, listen="127.0.0.1:0")
    async with build(settings, clock=clock) as deps:
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        notifier = Notifier(str(listener.path), watchdog_usec="200000")
        daemon = Daemon(deps, notifier=notifier, install_signals=False, holder="test")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
        # 16:00 in Oslo is not a cheap hour: the car that started on plug-in is stopped.
        await until(lambda: not sim.state.vehicle("car-1").charging)
        base = f"http://127.0.0.1:{daemon.health_port}"
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            metrics = (await http.get("/metrics")).text
            # No `[[api.tokens]]` configured: the API is served but closed.
            closed = await http.get("/v1/vehicles/car-1/plan")
        assert ready.status_code == 200
        assert ready.json()["leader"] is True
        assert closed.status_code == 401
        assert 'enode_scheduler_commands_sent_total{action="STOP"} 1' in metrics
        assert "enode_scheduler_enode_requests_total" in metrics
        # car-1 is at its plan's (home) location: controlled, and nothing is away.
        assert 'enode_scheduler_plan_vehicles{status="active"} 1' in metrics
        assert 'enode_scheduler_plan_vehicles{status="away"} 0' in metrics
        await until(lambda: "WATCHDOG=1" in listener.drain())
        started = asyncio.get_running_loop().time()
        daemon.stop()
        assert await asyncio.wait_for(task, timeout=15) == 0
        assert asyncio.get_running_loop().time() - started < 10
    messages = listener.drain()
    listener.close()
    assert messages[0].startswith("READY=1")
    assert messages[-1] == "STOPPING=1"


async def test_second_daemon_on_the_same_sqlite_file_is_refused(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    settings = daemon_settings(tmp_path, sim)
    async with build(settings, clock=clock) as first, build(settings, clock=clock) as second:
        daemon = Daemon(first, install_signals=False, holder="first")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
        with pytest.raises(AlreadyRunning, match=r"already running on .*enode-scheduler\.db"):
            await Daemon(second, install_signals=False, holder="second").run()
        daemon.stop()
        assert await asyncio.wait_for(task, timeout=15) == 0


async def test_a_stalled_reconcile_loop_stops_the_watchdog_and_exits_3(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    listener = NotifyListener(tmp_path / "notify.sock")
    # No plans job while the database is locked: a job cancelled inside a blocked aiosqlite call
    # can hang the event loop's teardown; the reconcile loop alone is what must stall here.
    scheduler = SchedulerSettings(
        stall_timeout_s=1.0, shutdown_grace_s=1.0, safety_tick_s=60, plans_refresh_s=3600
    )
    settings = daemon_settings(tmp_path, sim, scheduler=scheduler)
    async with build(settings, clock=clock) as deps:
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        notifier = Notifier(str(listener.path), watchdog_usec="400000")
        daemon = Daemon(deps, notifier=notifier, install_signals=False, holder="test")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
        await until(lambda: "WATCHDOG=1" in listener.drain())
        # Another process holds the write lock: every write of the loop now hangs and fails.
        blocker = sqlite3.connect(tmp_path / "enode-scheduler.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            await until(daemon.stop_event.is_set, timeout_s=15)
            seen = len(listener.drain())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await asyncio.wait_for(task, timeout=15) == EXIT_STALLED
    messages = listener.drain()
    listener.close()
    assert "WATCHDOG=1" not in messages[seen:]
    assert messages[-1] == "STOPPING=1"
