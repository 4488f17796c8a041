"""The daemon's lifecycle over real SQLite and real HTTP to an in-process sim on a fast clock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from enode_scheduler.bootstrap import build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.daemon.app import EXIT_STALLED, EXIT_TASK_CRASHED, Daemon
from enode_scheduler.daemon.notify import Notifier
from enode_scheduler.exceptions import AlreadyRunning
from enode_scheduler.records import CarStatus
from enode_scheduler.sim import Fault, RunningSim, SimConfig, run_sim
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
        # SQLite: the one process holds every shard through the same leases as on PostgreSQL.
        assert ready.json() == {
            "ready": True, "leader": True, "coordinator": True, "holder": "test",
            "shards_owned": 256, "shards_total": 256, "vehicles": 1, "cars": 1,
        }  # fmt: skip
        assert "enode_scheduler_shards_owned 256" in metrics
        assert 'enode_scheduler_replica_info{holder="test"} 1' in metrics
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


async def test_a_locked_database_withholds_the_watchdog_then_work_resumes(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    listener = NotifyListener(tmp_path / "notify.sock")
    scheduler = SchedulerSettings(
        stall_timeout_s=60.0, watchdog_grace_s=1.5, shutdown_grace_s=1.0, safety_tick_s=60,
        plans_refresh_s=3600,
    )  # fmt: skip
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
        assert daemon._ready()[0]
        blocker = sqlite3.connect(tmp_path / "enode-scheduler.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            daemon._wake.set()
            await until(lambda: daemon.failures.failing, timeout_s=15)
            assert not daemon._ready()[0]
            await asyncio.sleep(scheduler.watchdog_grace_s + 1.0)
            seen = len(listener.drain())
            await asyncio.sleep(1.0)
            # Well before the stall limit, systemd no longer hears from a daemon that cannot work.
            assert "WATCHDOG=1" not in listener.drain()[seen:]
            assert not daemon.stop_event.is_set()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await until(lambda: not daemon.failures.failing, timeout_s=20)
        seen = len(listener.drain())
        await until(lambda: "WATCHDOG=1" in listener.drain()[seen:], timeout_s=5)
        assert daemon._ready()[0]
        daemon.stop()
        assert await asyncio.wait_for(task, timeout=15) == 0
    listener.close()


async def test_a_vendors_429_gate_survives_a_restart(tmp_path: Path) -> None:
    # A slower clock: the vendor's Retry-After (clamped to an hour) lasts a minute of wall time.
    clock = ScaledClock(start=START, speed=60)
    config = SimConfig(vehicles=0, users=1, user_ids=("u1",), smart_charging_every=0)
    async with run_sim(config, clock=clock) as sim:
        sim.state.add_vehicle("u1", vendor="TESLA", id="car-1", soc_percent=40.0)
        sim.state.plug("car-1")
        sim.state.add_fault(Fault(kind="rate_limit", user_id="u1", retry_after_s=1800.0))
        settings = daemon_settings(tmp_path, sim)

        def user_requests() -> int:
            return sum(1 for e in sim.state.log if e.user_id == "u1")

        async with build(settings, clock=clock) as deps:
            await link_user(deps.store, sim, "u1", now=clock.now())
            await add_plan(
                deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
                location_id=sim.state.home_location_id("u1"),
            )  # fmt: skip
            first = Daemon(deps, install_signals=False, holder="first")
            task = asyncio.create_task(first.run())
            await asyncio.wait_for(first.ready_event.wait(), timeout=10)
            await until(lambda: first.deps.enode.gates.reopens_in_s("u1", "TESLA") > 0)
            first.stop()
            assert await asyncio.wait_for(task, timeout=15) == 0
        sim.state.clear_faults()
        before = user_requests()
        async with build(settings, clock=clock) as deps:
            second = Daemon(deps, install_signals=False, holder="second")
            task = asyncio.create_task(second.run())
            await asyncio.wait_for(second.ready_event.wait(), timeout=10)
            await asyncio.sleep(2.0)  # two simulated minutes of reconcile steps
            # The restarted daemon knows the gate is closed for half an hour: nothing was sent.
            assert user_requests() == before
            assert second.deps.enode.gates.reopens_in_s("u1", "TESLA") > 1500
            second.stop()
            assert await asyncio.wait_for(task, timeout=15) == 0


async def test_a_vendor_in_outage_gets_no_request_until_it_is_ready(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    scheduler = SchedulerSettings(
        verify_delay_s=90, deadline_margin_s=600, vendor_health_s=300, poll_plugged_s=300
    )
    settings = daemon_settings(tmp_path, sim, scheduler=scheduler)

    def car_requests() -> int:
        return sum(1 for e in sim.state.log if e.path.startswith("/vehicles"))

    async with build(settings, clock=clock) as deps:
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        daemon = Daemon(deps, install_signals=False, holder="test")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
        await until(lambda: car_requests() > 0)
        sim.state.set_vendor_status("TESLA", "OUTAGE")
        await until(lambda: "TESLA" in deps.enode.gates.paused_vendors, timeout_s=10)
        before = car_requests()
        await asyncio.sleep(3.0)  # half an hour of simulated polls at 600x
        assert car_requests() == before
        statuses = {h.vehicle_id: h.status for h in daemon.reconciler.health()}
        assert statuses["car-1"] is CarStatus.VENDOR_OUTAGE
        sim.state.set_vendor_status("TESLA", "READY")
        await until(lambda: car_requests() > before, timeout_s=10)
        await until(lambda: daemon.reconciler.health()[0].status is CarStatus.OK, timeout_s=10)
        daemon.stop()
        assert await asyncio.wait_for(task, timeout=15) == 0


async def test_a_crashed_background_task_is_logged_and_ends_the_process_with_4(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    settings = daemon_settings(tmp_path, sim)
    async with build(settings, clock=clock) as deps:
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        daemon = Daemon(deps, install_signals=False, holder="test")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)

        def broken(*, now: datetime) -> datetime:
            raise RuntimeError("a bug outside the step")

        # A fault the step's own handling does not cover: the loop itself dies.
        daemon.reconciler.next_wake = broken  # type: ignore[method-assign]
        with capture_logs() as logs:
            daemon._wake.set()
            assert await asyncio.wait_for(task, timeout=15) == EXIT_TASK_CRASHED
    crashed = [e for e in logs if e["event"] == "task_crashed"]
    assert crashed[0]["task"] == "reconcile-loop"
    assert "RuntimeError: a bug outside the step" in crashed[0]["error"]


async def test_a_user_whose_vendor_link_is_no_longer_valid_must_link_again(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    sim.state.invalidate_link("u1", "TESLA")
    settings = daemon_settings(tmp_path, sim)
    before = asyncio.all_tasks()
    async with build(settings, clock=clock) as deps:
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        daemon = Daemon(deps, install_signals=False, holder="test")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
        await until(
            lambda: daemon.reconciler.health()[0].status is CarStatus.RELINK_REQUIRED, timeout_s=10
        )
        user = await deps.store.users.get_user("u1")
        assert user is not None
        assert user.status.value == "relink_required"
        assert "TESLA" in (user.relink_reason or "")
        # Only the slow check: no reads of the car while the user must link again.
        reads = sum(1 for e in sim.state.log if e.path.startswith("/vehicles"))
        await asyncio.sleep(2.0)  # twenty simulated minutes
        assert sum(1 for e in sim.state.log if e.path.startswith("/vehicles")) == reads
        daemon.stop()
        assert await asyncio.wait_for(task, timeout=15) == 0
        # A job still running at the stop (the slow link check) ended before `run` returned:
        # cancelled only after the store closed, it once hung the loop's teardown.
        leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
        assert not leftover, [t.get_name() for t in leftover]
