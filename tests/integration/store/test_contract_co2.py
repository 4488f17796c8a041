"""Contract: carbon-intensity slots, a plan's CO2 price and a schedule's kg CO2 on every store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from typing import Any

from enode_scheduler.planner.models import IntensitySlot
from enode_scheduler.records import ScheduleRecord

from .conftest import START
from .test_contract_plans import repeating_plan, schedule


def half_hours(values: list[float], *, offset: int = 0) -> list[IntensitySlot]:
    step = timedelta(minutes=30)
    return [
        IntensitySlot(START + (offset + i) * step, START + (offset + i + 1) * step, g)
        for i, g in enumerate(values)
    ]


async def test_intensity_upsert_counts_changes_per_zone(store: Any) -> None:
    assert await store.intensity.upsert_intensity("GB-13", half_hours([120.0, 95.5, 80.0])) == 3
    assert await store.intensity.upsert_intensity("GB-13", half_hours([120.0, 95.5, 80.0])) == 0
    # the same instants in another offset are the same slots
    oslo = timezone(timedelta(hours=1))
    shifted = [replace(s, start=s.start.astimezone(oslo)) for s in half_hours([120.0])]
    assert await store.intensity.upsert_intensity("GB-13", shifted) == 0
    # a revised forecast replaces one slot and adds one
    assert await store.intensity.upsert_intensity("GB-13", half_hours([120, 90, 80, 70])) == 2
    assert await store.intensity.upsert_intensity("DE", half_hours([400.0])) == 1
    assert await store.intensity.upsert_intensity("DE", []) == 0
    got = await store.intensity.get_intensity("GB-13", start=START, end=START + timedelta(days=1))
    assert [s.g_co2_per_kwh for s in got] == [120.0, 90.0, 80.0, 70.0]
    assert all(s.start.utcoffset() == timedelta(0) for s in got)


async def test_intensity_read_returns_overlapping_slots_sorted(store: Any) -> None:
    await store.intensity.upsert_intensity("DE", list(reversed(half_hours([1.0, 2.0, 3.0, 4.0]))))
    got = await store.intensity.get_intensity(
        "DE", start=START + timedelta(minutes=45), end=START + timedelta(minutes=61)
    )
    assert [s.g_co2_per_kwh for s in got] == [2.0, 3.0]
    assert await store.intensity.get_intensity("FR", start=START, end=START + timedelta(1)) == []


async def test_plan_keeps_its_co2_price(store: Any) -> None:
    plain = await store.plans.put_plan(repeating_plan("v1"))
    assert plain.co2_price_per_kg is None
    weighted = await store.plans.put_plan(replace(repeating_plan("v2"), co2_price_per_kg=0.25))
    assert (await store.plans.get_plan("v2")) == weighted
    assert weighted.co2_price_per_kg == 0.25


async def test_schedule_keeps_kg_co2(store: Any) -> None:
    kept = replace(schedule(2.0), co2_kg=3.25, baseline_co2_kg=4.5)
    record = ScheduleRecord("v1", kept, START + timedelta(hours=8), START)
    await store.schedules.save_schedules([record])
    got = await store.schedules.get_schedule("v1")
    assert got == record
    assert got.schedule.co2_saving_kg == 1.25
