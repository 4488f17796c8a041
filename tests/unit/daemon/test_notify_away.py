"""car_away_with_plan from the running daemon: the fake Enode moves a planned, plugged-in car away
from its plan's charging location; a webhook target that asked for the event hears it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enode_scheduler.bootstrap import build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import NotifyTarget
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
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


async def test_plugged_in_away_is_told_once(
    tmp_path: Path, sim: RunningSim, clock: ScaledClock
) -> None:
    with Receiver() as receiver:
        target = NotifyTarget.model_validate(
            {
                "name": "ops",
                "webhook_url": f"{receiver.url}/hook",
                "webhook_secret": "a-webhook-secret-of-some-length",
                "events": ["car_away_with_plan"],
            }
        )
        settings = daemon_settings(tmp_path, sim).model_copy(update={"notify": (target,)})
        async with build(settings, clock=clock) as deps:
            await link_user(deps.store, sim, "u1", now=clock.now())
            await add_plan(
                deps.store, "car-1", "u1", target=80.0, deadline=DEADLINE,
                location_id=sim.state.home_location_id("u1"),
            )  # fmt: skip
            daemon = Daemon(deps, install_signals=False, holder="test")
            task = asyncio.create_task(daemon.run())
            await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
            # At home: controlled, nothing to tell.
            await until(lambda: daemon.reconciler.status_counts().get("active") == 1)
            sim.state.move("car-1", charging_location_id=None, max_charge_kw=None)
            await until(lambda: bool(receiver.accepted()), timeout_s=20)
            # An hour more plugged in there (polls every few minutes): the same episode.
            moved_on = clock.now() + timedelta(hours=1)
            await until(lambda: clock.now() > moved_on, timeout_s=20)
            daemon.stop()
            assert await asyncio.wait_for(task, timeout=15) == 0
    bodies = [r.json() for r in receiver.accepted()]
    assert [b["kind"] for b in bodies] == ["car_away_with_plan"]
    [event] = bodies
    assert event["vehicle_id"] == "car-1"
    assert event["event_id"] == f"car_away_with_plan:car-1:{DEADLINE:%Y-%m-%dT%H:%MZ}:elsewhere"
    assert "no charging location" in event["message"]
