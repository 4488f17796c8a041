"""Contract: plans, schedules and price slots on every store implementation."""

from __future__ import annotations

from datetime import time, timedelta, timezone
from typing import Any

from enode_scheduler.clock import FakeClock
from enode_scheduler.planner.models import Schedule, Slot, Window, WindowReason
from enode_scheduler.records import PlanRecord, PlanStatus, ScheduleRecord

from .conftest import START


def repeating_plan(vehicle_id: str = "v1", *, target: float = 80.0) -> PlanRecord:
    return PlanRecord(
        vehicle_id,
        "u1",
        target,
        timezone="Europe/Oslo",
        weekdays=frozenset({0, 2, 4}),
        local_time=time(7, 30),
        min_soc_percent=20.0,
        start_penalty=0.5,
    )


async def test_put_plan_sets_and_keeps_ids_and_timestamps(store: Any, clock: FakeClock) -> None:
    first = await store.plans.put_plan(repeating_plan())
    assert first.plan_id is not None
    assert first.created_at == first.updated_at == START
    assert first.weekdays == frozenset({0, 2, 4})
    assert first.local_time == time(7, 30)
    await clock.advance(60)
    second = await store.plans.put_plan(repeating_plan(target=90.0))
    assert (second.plan_id, second.created_at) == (first.plan_id, START)
    assert second.updated_at == START + timedelta(seconds=60)
    assert await store.plans.get_plan("v1") == second
    assert await store.plans.get_plan("v9") is None


async def test_one_off_plan_round_trips(store: Any) -> None:
    deadline = START.astimezone(timezone(timedelta(hours=2))) + timedelta(hours=10)
    stored = await store.plans.put_plan(PlanRecord("v2", "u1", 60.0, deadline=deadline))
    assert stored.deadline == deadline
    assert stored.repeating is False
    assert (await store.plans.get_plan("v2")) == stored


async def test_list_status_and_delete(store: Any, clock: FakeClock) -> None:
    put = await store.plans.put_plan(repeating_plan("v1"))
    await store.plans.put_plan(PlanRecord("v2", "u1", 70.0, deadline=START, enabled=False))
    assert [p.vehicle_id for p in await store.plans.list_plans()] == ["v1", "v2"]
    assert [p.vehicle_id for p in await store.plans.list_plans(enabled_only=True)] == ["v1"]
    await clock.advance(10)
    await store.plans.set_plan_status("v1", PlanStatus.FAILED, reason="no response")
    failed = await store.plans.get_plan("v1")
    assert (failed.status, failed.status_reason) == (PlanStatus.FAILED, "no response")
    # Not an edit: the reconciler replans (and resets attempts) only when updated_at moves.
    assert failed.updated_at == put.updated_at
    await store.plans.set_plan_status("v9", PlanStatus.DONE)  # no plan: nothing happens
    assert await store.plans.get_plan("v9") is None
    assert await store.plans.delete_plan("v1") is True
    assert await store.plans.delete_plan("v1") is False


def schedule(cost: float) -> Schedule:
    window = Window(START, START + timedelta(minutes=45), WindowReason.MIN_SOC, provisional=True)
    return Schedule(
        feasible=True,
        windows=(window, Window(START + timedelta(hours=2), START + timedelta(hours=3))),
        grid_energy_kwh=12.5,
        cost=cost,
        starts=2,
        soc_at_deadline_percent=80.0,
        baseline_cost=3.5,
        explanation=("cheapest 2 hours", "floor first"),
    )


async def test_schedule_round_trips_and_is_replaced(store: Any) -> None:
    record = ScheduleRecord("v1", schedule(2.0), START + timedelta(hours=8), START)
    await store.schedules.save_schedules([record])
    assert await store.schedules.get_schedule("v1") == record
    newer = ScheduleRecord("v1", schedule(1.5), START + timedelta(hours=8), START + timedelta(1))
    await store.schedules.save_schedules([newer])
    assert await store.schedules.get_schedules(["v1", "v2"]) == {"v1": newer}
    assert await store.schedules.get_schedule("v2") is None


async def test_schedules_saved_as_a_batch_replace_each_vehicles_own(store: Any) -> None:
    old = ScheduleRecord("v1", schedule(2.0), START + timedelta(hours=8), START)
    await store.schedules.save_schedules([old])
    batch = [
        ScheduleRecord(f"v{i}", schedule(1.0 + i), START + timedelta(hours=8), START)
        for i in range(1, 4)
    ]
    # The same vehicle twice in one batch: the later record wins.
    later = ScheduleRecord("v3", schedule(9.0), START + timedelta(hours=9), START)
    await store.schedules.save_schedules([*batch, later])
    assert await store.schedules.get_schedules(["v1", "v2", "v3"]) == {
        "v1": batch[0], "v2": batch[1], "v3": later,
    }  # fmt: skip
    await store.schedules.save_schedules([])
    assert await store.schedules.get_schedule("v1") == batch[0]


def hourly(prices: list[float], *, offset_h: int = 0) -> list[Slot]:
    return [
        Slot(START + timedelta(hours=offset_h + i), START + timedelta(hours=offset_h + i + 1), p)
        for i, p in enumerate(prices)
    ]


async def test_upsert_counts_new_and_changed_slots(store: Any) -> None:
    assert await store.prices.upsert_slots("NO2", hourly([1.0, 2.0, 3.0])) == 3
    assert await store.prices.upsert_slots("NO2", hourly([1.0, 2.0, 3.0])) == 0
    oslo = timezone(timedelta(hours=1))
    same_in_other_zone = [
        Slot(s.start.astimezone(oslo), s.end, s.price_per_kwh) for s in hourly([1.0])
    ]
    assert await store.prices.upsert_slots("NO2", same_in_other_zone) == 0
    assert await store.prices.upsert_slots("NO2", hourly([1.0, 2.5, 3.0, 4.0])) == 2
    assert await store.prices.upsert_slots("SE3", hourly([9.0])) == 1
    assert await store.prices.upsert_slots("SE3", []) == 0
    slots = await store.prices.get_slots("NO2", start=START, end=START + timedelta(hours=24))
    assert [s.price_per_kwh for s in slots] == [1.0, 2.5, 3.0, 4.0]


async def test_get_slots_returns_overlapping_sorted(store: Any) -> None:
    await store.prices.upsert_slots("NO2", list(reversed(hourly([1.0, 2.0, 3.0, 4.0]))))
    half = timedelta(minutes=30)
    slots = await store.prices.get_slots(
        "NO2", start=START + timedelta(hours=1) + half, end=START + timedelta(hours=3)
    )
    assert [s.price_per_kwh for s in slots] == [2.0, 3.0]
    assert all(s.start.tzinfo is not None for s in slots)
    assert await store.prices.get_slots("DE", start=START, end=START + timedelta(days=1)) == []
