"""Plans through a charger, end to end: the daemon process against the sim process.

A charger + car plan (the target is the car's SoC, commands go to the wallbox) and a
charger-only plan (20 kWh by the deadline, counted from the charger's power readings) each meet
their goal charging only inside the planner's windows, at about the planned cost; a 429 storm
on the charger's vendor is absorbed as a car maker's is.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.prices.file import FilePriceSource
from enode_scheduler.records import PlanRecord, UserTokens
from enode_scheduler.store import open_store
from tests.e2e.harness import (
    Daemon,
    Sim,
    Timeline,
    charging_intervals,
    cost_of,
    outside_s,
    planned_windows,
    sim_time,
    until,
    write_config,
)
from tests.e2e.scenario import COMMAND_DELAY_S, DEADLINE, POWER_KW, SCHEDULER, SPEED, START, USER

pytestmark = pytest.mark.e2e

CAR, WALLBOX, BOX_ONLY = "e2e-wallbox-car", "e2e-wallbox", "e2e-box-only"
TARGET_PERCENT, ENERGY_KWH = 80.0, 20.0
TICK_S = float(SCHEDULER["safety_tick_s"])
SLACK_S = TICK_S + COMMAND_DELAY_S + 0.25 * SPEED * 2
END = DEADLINE + timedelta(minutes=15)


class WallboxNight:
    """A sim with a car on a wallbox and a second charger with an anonymous car, and plans."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.timeline = Timeline(START, SPEED)
        self.sim = Sim(self.timeline, command_delay_s=COMMAND_DELAY_S)
        self.sim.add_car(
            CAR, USER, vendor="VOLKSWAGEN", capacity_kwh=77.0, max_charge_kw=POWER_KW,
            efficiency=0.9, soc_percent=50.0, charge_limit_percent=100.0,
        )  # fmt: skip
        # Wallboxes told to hold: nothing charges until the daemon starts it.
        for charger_id, vendor in ((WALLBOX, "EASEE"), (BOX_ONLY, "ZAPTEC")):
            self.sim.control(
                "POST", "/chargers",
                {"user_id": USER, "id": charger_id, "vendor": vendor, "enabled": False,
                 "max_charge_kw": POWER_KW},
            )  # fmt: skip
        self.sim.control("POST", f"/chargers/{WALLBOX}/plug", {"vehicle_id": CAR})
        self.sim.control("POST", f"/chargers/{BOX_ONLY}/plug", {})
        scheduler = {**SCHEDULER, "charger_assumed_kw": POWER_KW}
        self.config = write_config(
            tmp / "config.toml", self.sim, state_dir=tmp, database_url=None, scheduler=scheduler
        )
        self.daemons: list[Daemon] = []

    async def seed(self) -> None:
        issued = self.sim.control("POST", f"/users/{USER}/token")
        clock = self.timeline.clock()
        settings = DatabaseSettings(auto_migrate=True)
        async with open_store(settings, state_dir=self.tmp, clock=clock) as store:
            expires = clock.now() + timedelta(seconds=issued["expires_in_s"])
            tokens = UserTokens(issued["access_token"], issued["refresh_token"], expires)
            await store.tokens.save_tokens(USER, tokens)
            # Both plans are for home: the car is there (its chargingLocationId), and a
            # charger-only plan's wallbox is taken to be where its plan says.
            home = self.sim.car(CAR)["charging_location_id"]
            assert home is not None
            await store.plans.put_plan(
                PlanRecord(CAR, USER, TARGET_PERCENT, deadline=DEADLINE, charger_id=WALLBOX,
                           location_id=home)
            )  # fmt: skip
            await store.plans.put_plan(
                PlanRecord(BOX_ONLY, USER, 100.0, deadline=DEADLINE, charger_id=BOX_ONLY,
                           energy_kwh=ENERGY_KWH, location_id=home)
            )  # fmt: skip

    def start_daemon(self) -> Daemon:
        daemon = Daemon(self.config, self.timeline, self.tmp / "daemon.log")
        self.daemons.append(daemon)
        return daemon

    def charger(self, charger_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.sim.control("GET", f"/chargers/{charger_id}")
        return result

    def commands(self, path: str) -> list[tuple[datetime, str]]:
        return [
            (datetime.fromisoformat(e["sim_time"]), json.loads(e["request_body"])["action"])
            for e in self.sim.log(path)
            if e["method"] == "POST" and e["status"] < 300
        ]

    def close(self) -> None:
        for daemon in self.daemons:
            if daemon.proc.poll() is None:
                daemon.kill()
        self.sim.stop()


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[WallboxNight]:
    night = WallboxNight(tmp_path)
    try:  # the sim runs from the constructor on: stopped even when seeding fails
        await night.seed()
        yield night
    finally:
        night.close()


def assert_goals_met(night: WallboxNight) -> None:
    # At 2400x each start lands tens of simulated seconds late; real time is well inside this.
    assert night.sim.car(CAR)["soc_percent"] >= TARGET_PERCENT - 1.0
    assert night.charger(BOX_ONLY)["delivered_kwh"] >= ENERGY_KWH * 0.98


async def test_charger_plans_meet_their_goals_inside_the_optimum_windows(
    night: WallboxNight,
) -> None:
    daemon = night.start_daemon()
    await sim_time(night.timeline, END)
    assert daemon.terminate() == 0
    assert_goals_met(night)
    # The car was never commanded itself: every command went to its wallbox.
    assert night.commands(f"/vehicles/{CAR}/charging") == []
    slots = await FilePriceSource().fetch("NO1", start=START, end=DEADLINE)
    for plan_id, charger_id in ((CAR, WALLBOX), (BOX_ONLY, BOX_ONLY)):
        commands = night.commands(f"/chargers/{charger_id}/charging")
        assert any(action == "START" for _, action in commands), plan_id
        intervals = charging_intervals(commands, delay_s=COMMAND_DELAY_S, end=END)
        windows = planned_windows([daemon], plan_id)
        assert outside_s(intervals, windows) <= SLACK_S, plan_id
        first = next(e for e in daemon.events("plan_replanned") if e["vehicle_id"] == plan_id)
        actual = cost_of(intervals, slots, POWER_KW)
        assert first["cost"] * 0.99 <= actual <= first["cost"] * 1.10, plan_id
    # The charger-only plan planned 20 kWh at the charger (no efficiency loss in between).
    only = next(e for e in daemon.events("plan_replanned") if e["vehicle_id"] == BOX_ONLY)
    assert only["feasible"] is True
    assert daemon.events("energy_cycle_started")


async def test_429_storm_on_the_chargers_vendor_is_absorbed(night: WallboxNight) -> None:
    daemon = night.start_daemon()
    await until(lambda: bool(daemon.events("daemon_started")), timeout_s=30, what="start")
    night.sim.control(
        "POST", "/faults",
        {"kind": "rate_limit", "vendor": "EASEE", "retry_after_s": 900, "duration_s": 2 * 3600},
    )  # fmt: skip
    await sim_time(night.timeline, END)
    assert daemon.terminate() == 0
    assert_goals_met(night)
    log = night.sim.log(f"/chargers/{WALLBOX}")
    limited = [datetime.fromisoformat(e["sim_time"]) for e in log if e["status"] == 429]
    assert limited
    for at in limited:
        early = [
            e
            for e in log
            if at < datetime.fromisoformat(e["sim_time"]) < at + timedelta(seconds=899)
        ]
        assert early == [], "a request to the charger went out before Retry-After ended"
    # The other charger's vendor was not held back.
    assert all(e["status"] != 429 for e in night.sim.log(f"/chargers/{BOX_ONLY}"))
