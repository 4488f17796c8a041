"""The daemon as users run it (`enode-scheduler run`) against the sim process, on one fast clock."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.records import CommandIntent, PlanRecord
from enode_scheduler.store import open_store
from tests.e2e.harness import (
    charging_intervals,
    cost_of,
    create_pg_database,
    drop_pg_database,
    outside_s,
    planned_windows,
    sim_time,
    until,
)
from tests.e2e.scenario import (
    CARS,
    COMMAND_DELAY_S,
    DEADLINE,
    HA_SHARDS,
    POWER_KW,
    SCHEDULER,
    USER_SHARD,
    Car,
    Night,
    gained_user_shard,
)

pytestmark = pytest.mark.e2e

TICK_S = float(SCHEDULER["safety_tick_s"])
# The daemon decides within one tick of a boundary (checked on its `command_sent` events). The car
# then acts after the step's HTTP and database work and the vendor's delay; at 2400x every 100 ms
# of wall-clock latency on a busy machine is four simulated minutes.
WALL_LATENCY_S = 0.25
SLACK_S = TICK_S + COMMAND_DELAY_S + WALL_LATENCY_S * 2400
END = DEADLINE + timedelta(minutes=15)


@pytest.fixture
async def sqlite_night(tmp_path: Path) -> AsyncIterator[Night]:
    night = Night(tmp_path, database_url=None)
    await night.seed()
    yield night
    night.close()


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    url = create_pg_database(postgres_url)
    yield url
    drop_pg_database(postgres_url, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def night(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Night]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    night = Night(tmp_path, database_url=url)
    await night.seed()
    yield night
    night.close()


# At 2400x each start lands tens of simulated seconds late (wall-clock latency times the speed),
# so a car may end a fraction of a percent short; at real time that is well under 0.1 %.
TARGET_SLACK_PERCENT = 1.0


def assert_targets_met(night: Night) -> None:
    for car in night.cars:
        soc = night.sim.car(car.vehicle_id)["soc_percent"]
        assert soc >= car.target_percent - TARGET_SLACK_PERCENT, (car.vehicle_id, soc)


def intervals_of(night: Night, vehicle_id: str) -> list[tuple[datetime, datetime]]:
    commands = night.sim.commands(vehicle_id)
    return charging_intervals(commands, delay_s=COMMAND_DELAY_S, end=END)


async def sent_intents(night: Night) -> list[CommandIntent]:
    settings = DatabaseSettings(url=night.database_url)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        since = DEADLINE - timedelta(days=2)
        found = [
            i for c in night.cars for i in await store.intents.history(c.vehicle_id, since=since)
        ]
    return [i for i in found if i.sent_at is not None]


async def test_cars_reach_targets_charging_only_inside_windows_at_the_planned_cost(
    night: Night,
) -> None:
    daemon = night.start_daemon()
    await sim_time(night.timeline, END)
    assert daemon.terminate() == 0
    assert_targets_met(night)
    slots = await night.prices()
    actual = expected = 0.0
    for car in night.cars:
        intervals = intervals_of(night, car.vehicle_id)
        windows = planned_windows([daemon], car.vehicle_id)
        assert outside_s(intervals, windows) <= SLACK_S
        starts = [datetime.fromisoformat(e["at"]) for e in daemon.events("command_sent")
                  if e["vehicle_id"] == car.vehicle_id and e["action"] == "START"]  # fmt: skip
        assert starts
        late = timedelta(seconds=TICK_S + WALL_LATENCY_S * night.timeline.speed)
        for at in starts:  # decided inside a window, about one tick after it opened
            assert any(w_start <= at <= min(w_end, w_start + late)
                       for w_start, w_end in windows), at  # fmt: skip
        actual += cost_of(intervals, slots, POWER_KW)
        first = next(
            e for e in daemon.events("plan_replanned") if e["vehicle_id"] == car.vehicle_id
        )
        expected += first["cost"]
    # The planner's optimum is a floor; late starts and the minutes a last window is extended
    # by (both grown by the clock's speed) cost a little more, never much.
    assert expected * 0.99 <= actual <= expected * 1.10
    assert len(await sent_intents(night)) == sum(
        len(night.sim.commands(c.vehicle_id)) for c in CARS
    )


# The VW's minimum SoC puts it in a charging window at once; a slower clock leaves room for three
# process starts (seconds each on a busy machine).
CRASH_CARS = (Car("e2e-vw", "VOLKSWAGEN", 77.0, 40.0, 80.0, min_soc_percent=60.0), *CARS[1:])


async def test_kill_9_inside_and_outside_windows_loses_nothing_and_repairs_at_once(
    tmp_path: Path,
) -> None:
    night = Night(tmp_path, database_url=None, cars=CRASH_CARS, speed=1200)
    try:
        await night.seed()
        await _crash_and_restart(night)
    finally:
        night.close()


async def _crash_and_restart(night: Night) -> None:
    clock, vw = night.timeline.clock(), "e2e-vw"
    first = night.start_daemon("first")
    await until(lambda: night.sim.car(vw)["charging"], timeout_s=30, what="the VW charging")
    first.kill()  # inside its minimum-SoC window
    window_end = max(end for start, end in planned_windows([first], vw) if start <= clock.now())
    await sim_time(night.timeline, window_end + timedelta(minutes=20))
    assert night.sim.car(vw)["charging"]  # nobody stopped it while the daemon was dead
    second = night.start_daemon("second")
    await until(lambda: not night.sim.car(vw)["charging"], timeout_s=30, what="the stop")
    restarted_at = datetime.fromisoformat(second.events("fleet_loaded")[0]["at"])
    stops = [datetime.fromisoformat(e["at"]) for e in second.events("command_sent")
             if e["vehicle_id"] == vw and e["action"] == "STOP"]  # fmt: skip
    assert stops[0] - restarted_at <= timedelta(seconds=TICK_S + WALL_LATENCY_S * 1200)
    second.kill()  # outside the VW's windows
    third = night.start_daemon("third")
    await sim_time(night.timeline, END)
    assert third.terminate() == 0
    assert_targets_met(night)
    sent = await sent_intents(night)
    assert len({i.key for i in sent}) == len(sent)
    assert len(sent) == sum(len(night.sim.commands(c.vehicle_id)) for c in night.cars)
    assert len(await plans(night)) == len(night.cars)
    dead = (window_end, restarted_at + timedelta(seconds=TICK_S))
    for car in night.cars:
        alive = [
            piece
            for a, b in intervals_of(night, car.vehicle_id)
            for piece in ((a, min(b, dead[0])), (max(a, dead[1]), b))
            if piece[1] > piece[0]
        ]
        windows = planned_windows([first, second, third], car.vehicle_id)
        assert outside_s(alive, windows) <= SLACK_S


async def plans(night: Night) -> list[PlanRecord]:
    settings = DatabaseSettings(url=night.database_url)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        return await store.plans.list_plans()


async def test_429_storm_and_bad_data_are_absorbed(sqlite_night: Night) -> None:
    night = sqlite_night
    daemon = night.start_daemon()
    await until(lambda: bool(daemon.events("daemon_started")), timeout_s=30, what="start")
    night.sim.control(
        "POST", "/faults",
        {"kind": "rate_limit", "vendor": "VOLKSWAGEN", "retry_after_s": 900,
         "duration_s": 2 * 3600},
    )  # fmt: skip
    night.sim.control(
        "POST", "/faults",
        {"kind": "malformed", "vendor": "HYUNDAI", "malformed": "missing_fields",
         "duration_s": 2 * 3600},
    )  # fmt: skip
    await sim_time(night.timeline, END)
    assert daemon.terminate() == 0
    assert_targets_met(night)
    log = night.sim.log("/vehicles/e2e-vw")
    limited = [datetime.fromisoformat(e["sim_time"]) for e in log if e["status"] == 429]
    assert limited
    for at in limited:
        early = [
            e
            for e in log
            if at < datetime.fromisoformat(e["sim_time"]) < at + timedelta(seconds=899)
        ]
        assert early == [], "a request went out before Retry-After ended"
    assert daemon.events("reading_malformed")


@pytest.mark.postgres
async def test_two_daemons_share_the_shards_takeover_within_ttl_and_fencing(
    tmp_path: Path, pg_url: str
) -> None:
    night = Night(tmp_path, database_url=pg_url, shards=HA_SHARDS)
    try:
        await night.seed()
        one, two = night.start_daemon("one"), night.start_daemon("two")
        await until(
            lambda: gained_user_shard(one) or gained_user_shard(two),
            timeout_s=20, what="an owner of the cars' shard",
        )  # fmt: skip
        owner, other = (one, two) if gained_user_shard(one) else (two, one)
        await until(lambda: bool(owner.events("command_sent")), timeout_s=30, what="a command")
        # The other replica holds the other shard, without cars: it sends nothing.
        await until(lambda: bool(other.events("shards_gained")), timeout_s=15, what="its share")
        assert not gained_user_shard(other)
        assert other.events("command_sent") == []
        loop = asyncio.get_running_loop()
        owner.kill()
        killed_at = loop.time()
        await until(lambda: gained_user_shard(other), timeout_s=15, what="takeover")
        ttl_s = float(SCHEDULER["lease_ttl_s"])
        assert loop.time() - killed_at <= ttl_s + ttl_s / 3 + 2.0
        third = night.start_daemon("three")
        await until(lambda: bool(third.events("daemon_started")), timeout_s=20, what="third")
        os.kill(other.proc.pid, signal.SIGSTOP)  # paused mid-flight (GC, VM freeze)
        await until(lambda: gained_user_shard(third), timeout_s=15, what="takeover 2")
        sent_before = len(other.events("command_sent"))
        lost_before = len(other.events("shards_lost"))
        os.kill(other.proc.pid, signal.SIGCONT)
        await until(
            lambda: len(other.events("shards_lost")) > lost_before,
            timeout_s=10, what="the paused replica noticing",
        )  # fmt: skip
        await asyncio.sleep(1.0)
        assert len(other.events("command_sent")) == sent_before
        # Each takeover raised the shard's fencing epoch: first owner 1, then 2, then 3.
        async with open_store(DatabaseSettings(url=pg_url), state_dir=tmp_path) as store:
            leases = {lease.shard: lease for lease in await store.shards.leases()}
        assert leases[USER_SHARD].epoch == 3
        assert {e["holder"] for e in third.events("shards_gained")} == {leases[USER_SHARD].holder}
        sent = await sent_intents(night)
        assert len(sent) == sum(len(night.sim.commands(c.vehicle_id)) for c in CARS)
    finally:
        night.close()
