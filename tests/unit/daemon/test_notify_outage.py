"""vendor_outage from the running daemon: its `check_vendors` job reads the fake Enode's
`/health/vendors`, and a webhook target hears one start and one end per outage, even when a poll
of `/health/vendors` fails in between (a failed poll keeps the vendors it knew were down)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from enode_scheduler.bootstrap import build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import NotifyTarget, SchedulerSettings
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.sim import Fault, RunningSim, SimConfig, run_sim
from tests.receiver import Receiver
from tests.unit.daemon.support import add_plan, daemon_settings, link_user
from tests.unit.daemon.test_app import until

START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)  # packaged NO1 prices cover this week
DEADLINE = datetime(2025, 10, 24, 5, 0, tzinfo=UTC)


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
        running.state.plug("car-1")
        yield running


async def test_an_outage_is_told_once_at_its_start_and_once_at_its_end(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    with Receiver() as receiver:
        target = NotifyTarget.model_validate(
            {
                "name": "ops",
                "webhook_url": f"{receiver.url}/hook",
                "webhook_secret": "a-webhook-secret-of-some-length",
                "events": ["vendor_outage"],
            }
        )
        # /health/vendors every 5 simulated minutes: twice a wall second at 600x.
        scheduler = SchedulerSettings(verify_delay_s=90, deadline_margin_s=600, vendor_health_s=300)
        settings = daemon_settings(tmp_path, sim, scheduler=scheduler).model_copy(
            update={"notify": (target,)}
        )
        async with build(settings, clock=clock) as deps:
            await link_user(deps.store, sim, "u1", now=clock.now())
            await add_plan(
                deps.store, "car-1", "u1", target=80.0, deadline=DEADLINE,
                location_id=sim.state.home_location_id("u1"),
            )  # fmt: skip
            daemon = Daemon(deps, install_signals=False, holder="test")
            task = asyncio.create_task(daemon.run())
            await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
            sim.state.set_vendor_status("TESLA", "OUTAGE")
            await until(lambda: len(receiver.accepted()) == 1, timeout_s=20)
            # /health/vendors fails for a while: the outage is neither over nor begun again.
            sim.state.add_fault(Fault("server_error", path_prefix="/health/vendors"))
            with capture_logs() as logs:
                await until(
                    lambda: any(e["event"] == "vendor_health_failed" for e in logs), timeout_s=20
                )
            assert deps.enode.gates.paused_vendors == frozenset({"TESLA"})
            sim.state.set_vendor_status("TESLA", "READY")
            sim.state.faults.clear()
            await until(lambda: len(receiver.accepted()) == 2, timeout_s=20)
            assert deps.enode.gates.paused_vendors == frozenset()
            # Ten simulated minutes more of a healthy vendor (two polls): nothing more to tell.
            await asyncio.sleep(1.0)
            daemon.stop()
            assert await asyncio.wait_for(task, timeout=15) == 0
    bodies = [r.json() for r in receiver.accepted()]
    assert [b["kind"] for b in bodies] == ["vendor_outage", "vendor_outage"]
    start, end = bodies
    assert start["event_id"].startswith("vendor_outage:TESLA:start:")
    assert end["event_id"].startswith("vendor_outage:TESLA:end:")
    assert "is over" in end["message"]
