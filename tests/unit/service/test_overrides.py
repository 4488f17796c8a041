"""Overrides in the reconcile step: `charge_now` and `pause` beat the schedule until they end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enode_scheduler.planner import next_deadline, plan
from enode_scheduler.records import OverrideKind, OverrideRecord
from enode_scheduler.service import Ports, Reconciler
from tests.fakes import FakeCar
from tests.unit.service.test_reconciler import (
    SETTINGS,
    START,
    TOMORROW_7,
    ZONE,
    World,
    every_shard,
    make_world,
)


async def override_world(car: FakeCar) -> World:
    world = await make_world([car])
    s = world.stores
    ports = Ports(
        world.enode, s.vehicles, s.plans, world.schedules, s.intents, s.prices, s.overrides
    )
    world.rec = Reconciler(
        ports, SETTINGS, zone=ZONE, planner=plan, next_deadline=next_deadline, clock=world.clock
    )
    return world


async def test_charge_now_until_soc_then_the_car_returns_to_its_night_schedule() -> None:
    world = await override_world(FakeCar("v1", "u1", soc_percent=40.0))
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=START)
    await world.run(hours=0.5)
    assert world.enode.cars["v1"].charged_intervals == []  # the plan waits for the night
    boost = OverrideRecord("v1", OverrideKind.CHARGE_NOW, START, until_soc_percent=50.0)
    await world.stores.overrides.put_override(boost)
    assert await world.rec.reconcile_soon("v1", now=world.clock.now()) is True
    await world.run(hours=3)
    car = world.enode.cars["v1"]
    world.enode.finish()
    first_start, first_end = car.charged_intervals[0]
    assert first_start - START == timedelta(minutes=30)
    assert car.soc_percent == pytest.approx(50.0, abs=0.5)
    assert world.rec.cars["v1"].override is None
    await world.run(hours=17)
    assert 69.5 <= car.soc_percent <= 72.0
    night = [a for a, _ in car.charged_intervals if a > first_end]
    assert night
    assert min(night).hour == 2


async def test_pause_holds_the_car_until_its_time_then_the_schedule_charges_again() -> None:
    world = await override_world(FakeCar("v1", "u1", soc_percent=40.0))
    # 50 points in 6 hours at ~11 points/hour: the schedule wants to charge almost at once.
    await world.add_plan("v1", target=90.0, deadline=START + timedelta(hours=6))
    until = START + timedelta(hours=1)
    pause = OverrideRecord("v1", OverrideKind.PAUSE, START, until=until)
    await world.stores.overrides.put_override(pause)
    await world.rec.load(now=START)
    await world.run(hours=6)
    car = world.enode.cars["v1"]
    world.enode.finish()
    first_start = min(a for a, _ in car.charged_intervals)
    assert until <= first_start <= until + timedelta(seconds=SETTINGS.poll_near_boundary_s)
    assert car.soc_percent > 80.0
    assert world.rec.cars["v1"].override is None


async def test_reconcile_soon_ignores_an_unplanned_car_and_polls_a_planned_one() -> None:
    world = await override_world(FakeCar("v1", "u1", soc_percent=40.0))
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=START)
    await world.rec.step(now=START, epochs=every_shard(1))
    later = START + timedelta(minutes=1)
    assert world.rec.next_wake(now=later) > later
    assert await world.rec.reconcile_soon("nope", now=later) is False
    assert await world.rec.reconcile_soon("v1", now=later) is True
    assert world.rec.next_wake(now=later) == later
