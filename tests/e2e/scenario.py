"""One night with a few cars, shared by the end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.file import FilePriceSource
from enode_scheduler.records import PlanRecord, UserTokens
from enode_scheduler.shards import shard_of
from enode_scheduler.store import open_store
from tests.e2e.harness import Daemon, Sim, Timeline, write_config

# 21:00 in Oslo; the cheap hours of the packaged NO1 prices are 23:00-05:00 UTC. A slow start of
# the processes (seconds of imports on a busy machine are hours here) keeps goals feasible.
START = datetime(2025, 10, 23, 19, 0, tzinfo=UTC)
DEADLINE = datetime(2025, 10, 24, 5, 0, tzinfo=UTC)
SPEED = 2400.0
POWER_KW = 11.0
COMMAND_DELAY_S = 5.0
SCHEDULER: dict[str, Any] = {
    "default_charge_kw": POWER_KW,
    "default_efficiency": 0.9,
    "deadline_margin_s": 600,
    "verify_delay_s": 60,
    "safety_tick_s": 60,
    "lease_ttl_s": 3,
    "stall_timeout_s": 60,
    "plans_refresh_s": 60,
}


@dataclass(frozen=True)
class Car:
    vehicle_id: str
    vendor: str
    capacity_kwh: float
    soc_percent: float
    target_percent: float
    min_soc_percent: float = 0.0


CARS = (
    Car("e2e-vw", "VOLKSWAGEN", 77.0, 50.0, 80.0),
    Car("e2e-kona", "HYUNDAI", 64.0, 60.0, 90.0),
    Car("e2e-bmw", "BMW", 42.2, 60.0, 80.0),
)
USER = "e2e-user"
# Two shards for the replica tests: every car is the user's, in shard 0, which the first replica to
# claim keeps when a second one joins (a replica keeps its lowest shards), so the cars stay with
# one replica until it fails and the other replica holds a shard without cars.
HA_SHARDS = 2
USER_SHARD = shard_of(USER, HA_SHARDS)
assert USER_SHARD == 0, "the replica tests expect the cars in shard 0"


def gained_user_shard(daemon: Daemon) -> bool:
    """The daemon took the shard of the user's cars (logged `shards_gained`)."""
    return any(USER_SHARD in e["shards"] for e in daemon.events("shards_gained"))


class Night:
    """A sim with the cars, a database with tokens and plans, and daemons to start."""

    def __init__(
        self,
        tmp: Path,
        *,
        database_url: str | None,
        cars: tuple[Car, ...] = CARS,
        speed: float = SPEED,
        shards: int | None = None,
    ) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.cars = cars
        self.timeline = Timeline(START, speed)
        self.sim = Sim(self.timeline, command_delay_s=COMMAND_DELAY_S)
        for car in cars:
            self.sim.add_car(
                car.vehicle_id, USER, vendor=car.vendor, capacity_kwh=car.capacity_kwh,
                max_charge_kw=POWER_KW, efficiency=0.9, soc_percent=car.soc_percent,
                charge_limit_percent=100.0, plugged_in=True, charging=False, reasons=[],
            )  # fmt: skip
        self.config = write_config(
            tmp / "config.toml", self.sim, state_dir=tmp, database_url=database_url,
            scheduler=SCHEDULER if shards is None else {**SCHEDULER, "shards": shards},
        )  # fmt: skip
        self.daemons: list[Daemon] = []

    async def seed(self) -> None:
        """Tokens and plans, written as the daemon's own store would (on the shared clock)."""
        issued = self.sim.control("POST", f"/users/{USER}/token")
        clock = self.timeline.clock()
        settings = DatabaseSettings(url=self.database_url, auto_migrate=True)
        async with open_store(settings, state_dir=self.tmp, clock=clock) as store:
            expires = clock.now() + timedelta(seconds=issued["expires_in_s"])
            tokens = UserTokens(issued["access_token"], issued["refresh_token"], expires)
            await store.tokens.save_tokens(USER, tokens)
            for car in self.cars:
                # The sim puts every car at its owner's home charging location.
                home = self.sim.car(car.vehicle_id)["charging_location_id"]
                await store.plans.put_plan(
                    PlanRecord(vehicle_id=car.vehicle_id, user_id=USER,
                               target_soc_percent=car.target_percent, deadline=DEADLINE,
                               min_soc_percent=car.min_soc_percent, location_id=home)
                )  # fmt: skip

    def start_daemon(self, name: str = "daemon") -> Daemon:
        daemon = Daemon(self.config, self.timeline, self.tmp / f"{name}.log")
        self.daemons.append(daemon)
        return daemon

    async def prices(self) -> list[Slot]:
        return await FilePriceSource().fetch("NO1", start=START, end=DEADLINE)

    def close(self) -> None:
        for daemon in self.daemons:
            if daemon.proc.poll() is None:
                daemon.kill()
        self.sim.stop()
