"""Act only where a plan applies: the real daemon against the sim process, one fast night.

One night, two cars and a price file with a NaN row:
- `e2e-away` is plugged in at an ordinary 11 kW public charger (no charging location) and charges
  there untouched, reported `away`; back home it is planned and controlled to its target.
- `e2e-fast` is plugged in at home at a 150 kW charger outside its windows: never stopped.
- the NaN price row is dropped with one log line; the rest of the day is stored and used.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.prices.file import PACKAGED_DATA_DIR
from enode_scheduler.records import Presence
from enode_scheduler.store import open_store
from tests.e2e.harness import sim_time, write_config
from tests.e2e.scenario import DEADLINE, SCHEDULER, START, Car, Night

pytestmark = pytest.mark.e2e

AWAY, FAST = "e2e-away", "e2e-fast"
CARS = (
    Car(AWAY, "VOLKSWAGEN", 77.0, 20.0, 80.0),
    Car(FAST, "TESLA", 100.0, 10.0, 50.0),
)
NAN_SLOT = datetime(2025, 10, 24, 2, 0, tzinfo=UTC)
PLUG_AWAY = START + timedelta(minutes=30)
BACK_HOME = START + timedelta(minutes=100)
END = DEADLINE + timedelta(minutes=15)
TARGET_SLACK_PERCENT = 1.0


def _price_file(tmp: Path) -> Path:
    """The packaged NO1 prices with the 02:00 UTC quarter on 24 Oct replaced by NaN."""
    source = PACKAGED_DATA_DIR / "NO1_2025_15min_demo.csv"
    path = tmp / "NO1_nan.csv"
    shutil.copy(source, path)
    stamp = NAN_SLOT.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(stamp + ","))
    lines[index] = f"{stamp},NaN"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[Night]:
    night = Night(tmp_path, database_url=None, cars=CARS)
    # Unplugged cars are read every 5 simulated minutes, so a plug-in is seen at once.
    scheduler = SCHEDULER | {"poll_unplugged_s": 300}
    write_config(
        night.config, night.sim, state_dir=tmp_path, database_url=None, scheduler=scheduler
    )
    with night.config.open("a") as config:
        config.write(f'[prices.file]\npath = "{_price_file(tmp_path)}"\n')
    for car in CARS:
        night.sim.control("PATCH", f"/vehicles/{car.vehicle_id}", {"plugged_in": False})
    await night.seed()
    yield night
    night.close()


async def _plan_presence(night: Night, vehicle_id: str) -> Presence | None:
    settings = DatabaseSettings(url=night.database_url)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        plan = await store.plans.get_plan(vehicle_id)
    assert plan is not None
    return plan.presence


async def test_away_car_is_left_alone_fast_charging_is_never_stopped_and_a_nan_price_is_dropped(
    night: Night,
) -> None:
    home = night.sim.car(AWAY)["charging_location_id"]
    assert home is not None
    daemon = night.start_daemon()
    await sim_time(night.timeline, PLUG_AWAY)
    # A public 11 kW charger: not one of the user's charging locations.
    night.sim.control(
        "PATCH", f"/vehicles/{AWAY}",
        {"charging_location_id": None, "max_charge_kw": 11, "plugged_in": True},
    )  # fmt: skip
    night.sim.control("PATCH", f"/vehicles/{FAST}", {"max_charge_kw": 150, "plugged_in": True})
    await sim_time(night.timeline, BACK_HOME - timedelta(minutes=10))
    assert await _plan_presence(night, AWAY) is Presence.AWAY
    assert night.sim.commands(AWAY) == []
    assert night.sim.car(AWAY)["charging"]  # charging away, as its owner wanted
    # Driven home (a little emptier) and plugged in there: it starts charging by itself.
    night.sim.control("PATCH", f"/vehicles/{AWAY}", {"plugged_in": False})
    night.sim.control(
        "PATCH", f"/vehicles/{AWAY}",
        {"charging_location_id": home, "soc_percent": 40, "plugged_in": True},
    )  # fmt: skip
    await sim_time(night.timeline, END)
    assert daemon.terminate() == 0

    away_commands = night.sim.commands(AWAY)
    assert away_commands, "back home, the car is controlled"
    assert all(at >= BACK_HOME - timedelta(minutes=10) for at, _ in away_commands)
    # Home in the expensive evening: stopped first, started in the cheap night.
    assert away_commands[0][1] == "STOP"
    assert "START" in [action for _, action in away_commands]
    assert night.sim.car(AWAY)["soc_percent"] >= 80.0 - TARGET_SLACK_PERCENT
    assert await _plan_presence(night, AWAY) is Presence.AT_LOCATION
    away_lines = [e for e in daemon.events("vehicle_away") if e["vehicle_id"] == AWAY]
    assert len(away_lines) == 1  # one per plug-in, not one per poll

    assert night.sim.commands(FAST) == []
    left_alone = [e for e in daemon.events("fast_charging_left_alone") if e["vehicle_id"] == FAST]
    assert left_alone
    assert left_alone[0]["charge_rate_kw"] == 150

    (rejected,) = daemon.events("price_rejected")
    assert rejected["slot_start"] == NAN_SLOT.isoformat()
    settings = DatabaseSettings(url=night.database_url)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        slots = await store.prices.get_slots(
            "NO1", start=NAN_SLOT - timedelta(hours=3), end=NAN_SLOT + timedelta(hours=3)
        )
    starts = {s.start for s in slots}
    assert NAN_SLOT not in starts
    assert {NAN_SLOT - timedelta(minutes=15), NAN_SLOT + timedelta(minutes=15)} <= starts
    assert len(slots) == 6 * 4 - 1
