"""The reconciler with carbon intensity: plans follow the CO2 objective, schedules carry kg CO2."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enode_scheduler.planner import next_deadline, plan
from enode_scheduler.planner.models import IntensitySlot
from enode_scheduler.records import PlanRecord
from enode_scheduler.service import Co2Objective, Ports, Reconciler
from tests.fakes import FakeCar
from tests.unit.service.test_reconciler import SETTINGS, START, TOMORROW_7, ZONE, World, make_world


def sunny_afternoon(hours: int = 8) -> list[IntensitySlot]:
    """Half-hourly intensity from START: 50 g from 13:00 to 16:00 UTC, 400 g otherwise."""
    step = timedelta(minutes=30)
    out = []
    for i in range(hours * 2):
        start = START + i * step
        out.append(IntensitySlot(start, start + step, 50.0 if 13 <= start.hour < 16 else 400.0))
    return out


async def co2_world(objective: Co2Objective) -> World:
    world = await make_world([FakeCar("v1", "u1", soc_percent=40.0)])
    stores = world.stores
    ports = Ports(
        world.enode, stores.vehicles, stores.plans, world.schedules, stores.intents,
        stores.prices, intensity=stores.intensity,
    )  # fmt: skip
    world.rec = Reconciler(
        ports, SETTINGS, zone=ZONE, planner=plan, next_deadline=next_deadline,
        clock=world.clock, co2=objective,
    )  # fmt: skip
    return world


async def _plan(world: World, co2_price_per_kg: float | None = None) -> None:
    await world.stores.plans.put_plan(
        PlanRecord("v1", "u1", 70.0, deadline=TOMORROW_7, co2_price_per_kg=co2_price_per_kg)
    )
    await world.rec.load(now=world.clock.now())


async def test_co2_mode_charges_in_the_clean_afternoon_and_reports_kg() -> None:
    world = await co2_world(Co2Objective("GB", minimise=True))
    await world.stores.intensity.upsert_intensity("GB", sunny_afternoon())
    await _plan(world)
    await world.run(hours=0.1)
    record = await world.stores.schedules.get_schedule("v1")
    assert record is not None
    first = record.schedule.windows[0]
    assert first.start.hour == 13
    # 20 kWh at 50 g, against 400 g at once
    assert record.schedule.co2_kg == pytest.approx(20 * 50 / 1000, rel=1e-3)
    assert record.schedule.baseline_co2_kg > record.schedule.co2_kg
    assert not first.provisional
    assert any("kg CO2" in line for line in record.schedule.explanation)


async def test_a_plans_own_co2_price_overrides_the_mode() -> None:
    world = await co2_world(Co2Objective("GB", minimise=True))
    await world.stores.intensity.upsert_intensity("GB", sunny_afternoon())
    await _plan(world, co2_price_per_kg=0.0)
    await world.run(hours=0.1)
    record = await world.stores.schedules.get_schedule("v1")
    assert record is not None
    # money only: the cheap night; its intensity is unknown, so estimated and provisional
    assert record.schedule.windows[0].start.hour == 2
    assert record.schedule.windows[0].provisional


async def test_intensity_arriving_later_replans() -> None:
    world = await co2_world(Co2Objective("GB", minimise=True))
    await _plan(world)
    await world.run(hours=0.1)
    before = await world.stores.schedules.get_schedule("v1")
    assert before is not None
    assert before.schedule.windows[0].start.hour == 2
    assert before.schedule.co2_kg == 0.0
    await world.stores.intensity.upsert_intensity("GB", sunny_afternoon())
    world.rec.prices_changed(at=world.clock.now())
    await world.run(hours=0.1)
    after = await world.stores.schedules.get_schedule("v1")
    assert after is not None
    assert after.schedule.windows[0].start.hour == 13
