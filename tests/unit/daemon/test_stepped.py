"""The daemon driven on a StepClock: its work lands at exact sim-time instants, none on the wall."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enode_scheduler.bootstrap import build
from enode_scheduler.clock import ScaledClock, StepClock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.daemon.stepped import SteppedDaemon
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
from tests.unit.daemon.support import add_plan, daemon_settings, link_user

START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)  # packaged NO1 prices cover this week
DEADLINE = datetime(2025, 10, 24, 5, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> StepClock:
    return StepClock(START)


@pytest.fixture
async def sim(clock: StepClock) -> AsyncIterator[RunningSim]:
    config = SimConfig(
        vehicles=0, users=1, user_ids=("u1",), smart_charging_every=0, command_delay_s=0
    )
    async with run_sim(config, clock=clock) as running:
        running.state.add_vehicle(
            "u1", vendor="TESLA", id="car-1", soc_percent=40.0, charge_limit_percent=100.0
        )
        running.state.plug("car-1")  # starts charging on its own, as real cars do
        yield running


def _commands(sim: RunningSim) -> list[tuple[datetime, str]]:
    return [
        (entry.sim_time, json.loads(entry.request_body)["action"])
        for entry in sim.state.requests(path_prefix="/vehicles/car-1/charging")
        if entry.status < 300
    ]


async def test_stepped_daemon_sends_each_command_at_its_planned_instant(
    tmp_path: Path, sim: RunningSim, clock: StepClock
) -> None:
    # Few polls, ticks and looks for new plans: fewer instants, the same commands.
    scheduler = SchedulerSettings(
        verify_delay_s=90, deadline_margin_s=600, poll_plugged_s=1800, safety_tick_s=1800,
        plans_refresh_s=3600, vendor_health_s=3600,
    )  # fmt: skip
    settings = daemon_settings(tmp_path, sim, scheduler=scheduler)
    async with build(settings, clock=clock) as deps:
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        daemon = Daemon(deps, install_signals=False, holder="test")
        async with SteppedDaemon(daemon, clock).started() as stepped:
            # 16:00 in Oslo is not a cheap hour: the first step stops the car, at that instant.
            assert _commands(sim) == [(START, "STOP")]
            car = daemon.reconciler.cars["car-1"]
            assert car.record is not None
            windows = car.record.schedule.windows
            while clock.now() < DEADLINE:
                clock.advance_to(min(stepped.next_at(), DEADLINE))
                await stepped.run_due()
    sent = _commands(sim)[1:]
    # Each START at its window's start exactly, no wall-clock lag; each STOP at its window's
    # end, or before it once the target is reached.
    assert [at for at, action in sent if action == "START"] == [w.start for w in windows]
    stops = [at for at, action in sent if action == "STOP"]
    assert len(stops) == len(windows)
    assert all(w.start < at <= w.end for w, at in zip(windows, stops, strict=True))
    assert sim.state.vehicle("car-1").soc_percent == pytest.approx(60.0, abs=1.0)


async def test_stepped_daemon_needs_the_daemon_built_on_its_clock(
    tmp_path: Path, sim: RunningSim, clock: StepClock
) -> None:
    other = ScaledClock(start=START, speed=600)
    async with build(daemon_settings(tmp_path, sim), clock=other) as deps:
        daemon = Daemon(deps, install_signals=False, holder="test")
        with pytest.raises(ValueError, match="StepClock"):
            SteppedDaemon(daemon, clock)
