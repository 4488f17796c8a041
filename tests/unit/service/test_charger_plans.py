"""Plans through a charger, over fakes: charger + car, and charger-only energy goals."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, time, timedelta

import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.planner import next_deadline, plan
from enode_scheduler.records import (
    ChargeAction,
    IntentStatus,
    OverrideKind,
    OverrideRecord,
    PlanRecord,
    PlanStatus,
    Presence,
)
from enode_scheduler.service import Ports, Reconciler
from enode_scheduler.testing import InMemoryStore
from tests.fakes import FakeCar, FakeCharger, FakeEnode, RecordingSchedules
from tests.unit.service.test_reconciler import (
    SETTINGS,
    START,
    TOMORROW_7,
    ZONE,
    World,
    intents,
    night_prices,
    outside_windows_s,
    own_every_shard,
)

CHARGER_SETTINGS = SETTINGS.model_copy(update={"charger_assumed_kw": 11.0})
# A start is counted half (mean of the powers of the readings around it), so the last window runs
# on a little; it stops at the next read: at most one plugged-in poll of 11 kW over the goal.
OVER_KWH = 11.0 * SETTINGS.poll_plugged_s / 3600


async def make_world(
    cars: Sequence[FakeCar],
    chargers: Sequence[FakeCharger],
    *,
    stores: InMemoryStore | None = None,
    clock: FakeClock | None = None,
    enode: FakeEnode | None = None,
    settings: SchedulerSettings = CHARGER_SETTINGS,
) -> World:
    clock = clock or FakeClock(START)
    enode = enode or FakeEnode(clock, cars, chargers)
    if stores is None:
        stores = InMemoryStore.create(clock=clock)
        await stores.prices.upsert_slots(ZONE, night_prices(START, hours=24 * 5))
        await own_every_shard(stores, settings)
    schedules = RecordingSchedules(stores.schedules)
    ports = Ports(
        enode, stores.vehicles, stores.plans, schedules, stores.intents, stores.prices,
        overrides=stores.overrides, chargers=stores.chargers,
    )  # fmt: skip
    rec = Reconciler(
        ports, settings, zone=ZONE, planner=plan, next_deadline=next_deadline, clock=clock
    )
    return World(clock, enode, stores, schedules, rec)


def charged_kwh_by_window(world: World, charger_id: str) -> list[tuple[datetime, datetime]]:
    """When an anonymous car on the charger drew power, from the charger's commands."""
    spans, since = [], None
    for at, target, action in world.enode.commands:
        if target != charger_id:
            continue
        if action is ChargeAction.START and since is None:
            since = at
        elif action is ChargeAction.STOP and since is not None:
            spans.append((since, at))
            since = None
    return spans


async def test_charger_and_car_plan_meets_the_target_through_the_charger() -> None:
    car = FakeCar("v1", "u1", vendor="PEUGEOT", soc_percent=40.0)
    world = await make_world([car], [FakeCharger("c1", "u1", car_id="v1")])
    await world.stores.plans.put_plan(
        PlanRecord(
            "v1",
            "u1",
            70.0,
            deadline=TOMORROW_7,
            min_soc_percent=45.0,
            charger_id="c1",
            location_id="home",
        )
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=20)
    assert car.soc_percent == pytest.approx(70.0, abs=0.5)
    # Every command went to the charger, none to the car.
    assert {target for _, target, _ in world.enode.commands} == {"c1"}
    # The min-SoC floor charged at once, the rest in the cheap night hours.
    first, *rest = sorted(car.charged_intervals)
    assert first[0] == START
    assert rest
    assert min(a for a, _ in rest).hour == 2
    assert outside_windows_s(world, "v1") <= SETTINGS.safety_tick_s
    done = await intents(world, "v1")
    assert done
    assert all(i.status is IntentStatus.VERIFIED for i in done)
    stored = await world.stores.plans.get_plan("v1")
    assert stored is not None
    assert stored.status is PlanStatus.DONE
    # The car's own reading and the charger's are both kept.
    assert "v1" in await world.stores.vehicles.latest_readings()
    assert "c1" in await world.stores.chargers.latest_charger_readings()


async def test_charger_only_plan_delivers_its_energy_in_the_cheap_hours() -> None:
    box = FakeCharger("c1", "u1", power_kw=11.0)
    world = await make_world([], [box])
    await world.stores.plans.put_plan(
        PlanRecord(
            "c1",
            "u1",
            100.0,
            deadline=TOMORROW_7,
            charger_id="c1",
            energy_kwh=20.0,
            location_id="home",
        )
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=20)
    assert 20.0 <= box.delivered_kwh <= 20.0 + OVER_KWH
    spans = charged_kwh_by_window(world, "c1")
    assert spans
    assert all(a.hour >= 2 and b <= TOMORROW_7 for a, b in spans)
    baselines = await world.stores.chargers.get_energy_baselines(["c1"])
    assert baselines["c1"].deadline == TOMORROW_7
    stored = await world.stores.plans.get_plan("c1")
    assert stored is not None
    assert stored.status is PlanStatus.DONE


async def test_without_a_reported_rate_the_assumed_power_is_counted() -> None:
    box = FakeCharger("c1", "u1", power_kw=7.0, reports_rate=False)
    world = await make_world([], [box], settings=SETTINGS.model_copy(
        update={"charger_assumed_kw": 7.0}))  # fmt: skip
    await world.stores.plans.put_plan(
        PlanRecord(
            "c1",
            "u1",
            100.0,
            deadline=TOMORROW_7,
            charger_id="c1",
            energy_kwh=14.0,
            location_id="home",
        )
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=20)
    assert 14.0 <= box.delivered_kwh <= 14.0 + 7.0 * 0.1


async def test_a_repeating_charger_only_plan_counts_each_cycle_afresh() -> None:
    box = FakeCharger("c1", "u1")
    world = await make_world([], [box])
    await world.stores.plans.put_plan(
        PlanRecord("c1", "u1", 100.0, weekdays=frozenset(range(7)), local_time=time(7, 0),
                   charger_id="c1", energy_kwh=15.0, location_id="home")
    )  # fmt: skip
    await world.rec.load(now=world.clock.now())
    await world.run(hours=20)
    first = box.delivered_kwh
    assert first >= 15.0
    await world.run(hours=24)
    assert box.delivered_kwh - first >= 15.0
    assert box.delivered_kwh <= 2 * (15.0 + OVER_KWH)
    # Past the second deadline, the third cycle counts from the meter as it stood then.
    baseline = (await world.stores.chargers.get_energy_baselines(["c1"]))["c1"]
    assert baseline.deadline == TOMORROW_7 + timedelta(days=2)
    assert baseline.start_kwh == pytest.approx(box.delivered_kwh, rel=0.05)


async def test_a_restart_keeps_counting_from_the_stored_meter_and_baseline() -> None:
    box = FakeCharger("c1", "u1")
    world = await make_world([], [box])
    await world.stores.plans.put_plan(
        PlanRecord(
            "c1",
            "u1",
            100.0,
            deadline=TOMORROW_7,
            charger_id="c1",
            energy_kwh=20.0,
            location_id="home",
        )
    )
    await world.rec.load(now=world.clock.now())
    # Into the cheap hours, charging: the daemon dies here and a new one takes over.
    await world.run(hours=15)
    assert box.charging
    assert 0.0 < box.delivered_kwh < 20.0
    again = await make_world([], [], stores=world.stores, clock=world.clock, enode=world.enode)
    await again.rec.load(now=again.clock.now())
    await again.run(hours=5)
    # Not counted twice across the restart (that would stop it at half the goal or run twice).
    assert 20.0 <= box.delivered_kwh <= 20.0 + OVER_KWH


async def test_a_charger_ignoring_commands_fails_the_plan_after_bounded_retries() -> None:
    car = FakeCar("v1", "u1", soc_percent=40.0)
    world = await make_world([car], [FakeCharger("c1", "u1", car_id="v1", ignores_commands=True)])
    await world.stores.plans.put_plan(
        PlanRecord("v1", "u1", 70.0, deadline=TOMORROW_7, charger_id="c1", location_id="home")
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=20)
    sent = [a for _, target, a in world.enode.commands if target == "c1"]
    assert len(sent) == SETTINGS.command_max_attempts
    stored = await world.stores.plans.get_plan("v1")
    assert stored is not None
    assert stored.status is PlanStatus.FAILED


async def test_a_429_on_the_chargers_vendor_is_absorbed() -> None:
    car = FakeCar("v1", "u1", vendor="PEUGEOT", soc_percent=50.0)
    world = await make_world([car], [FakeCharger("c1", "u1", car_id="v1", vendor="EASEE")])
    await world.stores.plans.put_plan(
        PlanRecord("v1", "u1", 80.0, deadline=TOMORROW_7, charger_id="c1", location_id="home")
    )
    world.enode.rate_limited_until["EASEE"] = START + timedelta(hours=3)
    await world.rec.load(now=world.clock.now())
    await world.run(hours=19)
    # One 429; then nothing is asked of the charger until its Retry-After has passed.
    assert world.enode.rate_limited == 1
    assert car.soc_percent == pytest.approx(80.0, abs=0.5)


async def test_a_charge_now_override_on_a_charger_only_plan_starts_the_charger() -> None:
    box = FakeCharger("c1", "u1")
    world = await make_world([], [box])
    await world.stores.plans.put_plan(
        PlanRecord(
            "c1",
            "u1",
            100.0,
            deadline=TOMORROW_7,
            charger_id="c1",
            energy_kwh=20.0,
            location_id="home",
        )
    )
    until = START + timedelta(hours=1)
    await world.stores.overrides.put_override(
        OverrideRecord("c1", OverrideKind.CHARGE_NOW, created_at=START, until=until)
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=2)
    starts = [at for at, target, a in world.enode.commands if a is ChargeAction.START]
    stops = [at for at, target, a in world.enode.commands if a is ChargeAction.STOP]
    assert starts[0] == START
    assert until <= stops[0] <= until + timedelta(seconds=SETTINGS.safety_tick_s)
    assert box.delivered_kwh == pytest.approx(11.0, rel=0.05)


# -- where a charger plan acts -------------------------------------------------------------------


async def test_a_charger_and_car_plan_leaves_the_car_alone_away_from_its_location() -> None:
    # The car's chargingLocationId decides, as for a vehicle plan: plugged into a wallbox at
    # work, a plan for home sends nothing, and comes back to life at home.
    car = FakeCar("v1", "u1", soc_percent=40.0, location_id="work")
    world = await make_world([car], [FakeCharger("c1", "u1", car_id="v1")])
    await world.stores.plans.put_plan(
        PlanRecord("v1", "u1", 70.0, deadline=TOMORROW_7, charger_id="c1", location_id="home")
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=6)
    assert [c for c in world.enode.commands if c[1] == "c1"] == []
    assert car.soc_percent == 40.0
    stored = await world.stores.plans.get_plan("v1")
    assert stored is not None
    assert stored.presence is Presence.AWAY
    assert stored.shown_status == "away"
    world.enode.move("v1", location_id="home")
    await world.run(hours=14)
    assert car.soc_percent == pytest.approx(70.0, abs=0.5)
    stored = await world.stores.plans.get_plan("v1")
    assert stored is not None
    assert stored.presence is Presence.AT_LOCATION


async def test_a_charger_only_plan_acts_at_its_location_and_waits_without_one() -> None:
    # Enode v1.4 gives a charger no location and a wallbox does not move: the charger is where
    # its plan says; a plan that names no location is stored but not controlled.
    box = FakeCharger("c1", "u1")
    world = await make_world([], [box])
    await world.stores.plans.put_plan(
        PlanRecord("c1", "u1", 100.0, deadline=TOMORROW_7, charger_id="c1", energy_kwh=20.0)
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=6)
    assert world.enode.commands == []
    stored = await world.stores.plans.get_plan("c1")
    assert stored is not None
    assert stored.shown_status == "no_location"
    await world.stores.plans.put_plan(dataclasses.replace(stored, location_id="home"))
    await world.rec.refresh_plans(now=world.clock.now())
    await world.run(hours=14)
    assert 20.0 <= box.delivered_kwh <= 20.0 + OVER_KWH
    stored = await world.stores.plans.get_plan("c1")
    assert stored is not None
    assert stored.presence is Presence.AT_LOCATION


async def test_a_charger_delivering_more_than_max_controlled_kw_is_never_stopped() -> None:
    # Charging now in the expensive afternoon: the plan wants it stopped, but a rate above
    # scheduler.max_controlled_kw is not ours to interrupt (as for a car on a fast charger).
    box = FakeCharger("c1", "u1", power_kw=50.0, charging=True)
    world = await make_world([], [box])
    await world.stores.plans.put_plan(
        PlanRecord("c1", "u1", 100.0, deadline=TOMORROW_7, charger_id="c1", energy_kwh=20.0,
                   location_id="home")
    )  # fmt: skip
    await world.rec.load(now=world.clock.now())
    await world.run(hours=2)
    assert SETTINGS.max_controlled_kw < 50.0
    assert [a for _, _, a in world.enode.commands if a is ChargeAction.STOP] == []
    assert box.charging
