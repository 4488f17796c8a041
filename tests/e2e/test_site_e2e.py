"""Three cars behind one 11 kW connection: the real daemon against the sim process, one fast night.

One user, one charging location ("Home", the sim's), stored as site `garage` with `max_kw = 11`.
Each car charges at 11 kW, so only one may charge at a time, and each needs more than a third of
the cheap night (23:00-05:00 UTC) at full power: planned on their own, all three would charge in
the same cheapest quarters. Jointly, they take turns: every goal is met, the sim never sees the
location above 11 kW (not even during a hand-over), and the cost is within 1 % of the joint
optimum (`plan_site`) for the same prices, starting SoCs and energy delivered (within 3 % of the
optimum for the goals themselves: a car is stopped a poll after reaching its target).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.planner.models import Goal, Slot, VehicleState
from enode_scheduler.planner.site import plan_site
from enode_scheduler.planner.site_models import SiteCar
from enode_scheduler.prices.file import PACKAGED_DATA_DIR, FilePriceSource
from enode_scheduler.records import SiteLocation, UserRecord
from enode_scheduler.store import open_store
from tests.e2e.harness import charging_intervals, cost_of, sim_time
from tests.e2e.scenario import (
    COMMAND_DELAY_S,
    DEADLINE,
    POWER_KW,
    SCHEDULER,
    START,
    USER,
    Car,
    Night,
)

pytestmark = pytest.mark.e2e

CAP_KW = 11.0
# 40 % of 64 kWh at 90 %: 28.4 kWh from the grid, 2.6 h at 11 kW each (the cheap night is 6 h).
CARS = (
    Car("site-a", "TESLA", 64.0, 20.0, 60.0),
    Car("site-b", "BMW", 64.0, 20.0, 60.0),
    Car("site-c", "HYUNDAI", 64.0, 20.0, 60.0),
)
END = DEADLINE + timedelta(minutes=15)
# A slower clock than the other nights: each hand-over waits for a read confirming the STOP,
# and wall-clock latency times the speed is simulated minutes charged in dearer quarters.
SPEED = 600.0
TARGET_SLACK_PERCENT = 0.5


def _hourly_prices(tmp: Path) -> Path:
    """The packaged NO1 quarter-hour prices averaged per hour: a market with hourly prices
    (quarter-hours would make the optimum hand over between cars four times as often)."""
    rows = (PACKAGED_DATA_DIR / "NO1_2025_15min_demo.csv").read_text().splitlines()
    hours: dict[str, list[float]] = {}
    for row in rows[1:]:
        stamp, price = row.split(",")
        hours.setdefault(stamp[:13], []).append(float(price))
    path = tmp / "NO1_hourly.csv"
    lines = [rows[0], *(f"{h}:00:00Z,{sum(p) / len(p):.3f}" for h, p in hours.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[Night]:
    night = Night(tmp_path, database_url=None, cars=CARS, speed=SPEED)
    with night.config.open("a") as config:
        config.write(f'[prices.file]\npath = "{_hourly_prices(tmp_path)}"\n')
    await night.seed()
    home = night.sim.car(CARS[0].vehicle_id)["charging_location_id"]
    assert home is not None
    settings = DatabaseSettings(url=night.database_url)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        await store.users.upsert_user(UserRecord(user_id=USER))
        await store.sites.put_site("garage", max_kw=CAP_KW)
        await store.sites.attach_location("garage", SiteLocation(USER, home))
    yield night
    night.close()


def joint_optimum_cost(slots: list[Slot], targets: dict[str, float]) -> float:
    """The least cost of bringing every car from its starting SoC to `targets` under the cap."""
    cars = [
        SiteCar(
            car.vehicle_id,
            VehicleState(car.capacity_kwh, car.soc_percent, POWER_KW, 0.9),
            Goal(
                targets[car.vehicle_id], DEADLINE, deadline_margin_s=SCHEDULER["deadline_margin_s"]
            ),
        )
        for car in CARS
    ]
    plan = plan_site(cars, max_kw=CAP_KW, slots=slots, now=START)
    assert all(part.feasible for part in plan.cars)
    return plan.cost


async def test_three_cars_share_an_11_kw_cap_meet_their_goals_at_the_joint_optimum(
    night: Night,
) -> None:
    home = night.sim.car(CARS[0].vehicle_id)["charging_location_id"]
    daemon = night.start_daemon()
    await sim_time(night.timeline, END)
    assert daemon.terminate() == 0

    reached = {car.vehicle_id: night.sim.car(car.vehicle_id)["soc_percent"] for car in CARS}
    for car in CARS:
        soc = reached[car.vehicle_id]
        assert soc >= car.target_percent - TARGET_SLACK_PERCENT, (car.vehicle_id, soc)
    power = night.sim.control("GET", f"/locations/{home}/power?above_kw={CAP_KW}")
    assert power["seconds_above"] == 0, power
    assert power["peak_kw"] == pytest.approx(CAP_KW)

    replanned = daemon.events("site_replanned")
    assert replanned
    assert replanned[0]["vehicle_ids"] == sorted(c.vehicle_id for c in CARS)
    assert daemon.events("start_waits_for_cap"), "a hand-over waited for a confirmed STOP"

    slots = await FilePriceSource(path=night.tmp / "NO1_hourly.csv").fetch(
        "NO1", start=START, end=DEADLINE
    )
    actual = sum(
        cost_of(
            charging_intervals(
                night.sim.commands(car.vehicle_id), delay_s=COMMAND_DELAY_S, end=END
            ),
            slots,
            POWER_KW,
        )
        for car in CARS
    )
    # Within 1 % of the cheapest way to charge what was charged: a car stops at its target only
    # once a read sees it there (minutes of overshoot at 11 kW), which costs what it delivers.
    same_energy = joint_optimum_cost(slots, reached)
    assert same_energy * 0.99 <= actual <= same_energy * 1.01, (actual, same_energy)
    # Against the goals themselves: that overshoot and the hand-overs' lost seconds, no more.
    optimum = joint_optimum_cost(slots, {c.vehicle_id: c.target_percent for c in CARS})
    assert optimum <= actual <= optimum * 1.03, (actual, optimum)
