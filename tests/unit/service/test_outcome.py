"""Plan outcomes: the pure rules, and the reconciler recording them when a deadline passes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from structlog.testing import capture_logs

from enode_scheduler.planner import next_deadline, plan
from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import OutcomeKind, PlanOutcome, PlanRecord, VehicleReading
from enode_scheduler.service import Ports, Reconciler
from enode_scheduler.service.outcome import effective_target, outlook, plan_outcome
from enode_scheduler.testing import InMemoryPriceSlotStore
from tests.fakes import FakeCar
from tests.unit.service.test_reconciler import (
    SETTINGS,
    TOMORROW_7,
    ZONE,
    World,
    every_shard,
    make_world,
)

DEADLINE = datetime(2026, 1, 6, 6, tzinfo=UTC)
PLAN = PlanRecord("v1", "u1", 80.0, deadline=DEADLINE)


def reading(soc: float | None, *, limit: float | None = None) -> VehicleReading:
    return VehicleReading("v1", "u1", "TESLA", DEADLINE, True, soc, True, False, None, 60.0, limit)


def schedule(*, feasible: bool, soc: float = 80.0) -> Schedule:
    return Schedule(feasible, (), 10.0, 1.0, 1, soc)


@pytest.mark.parametrize(
    ("soc", "limit", "feasible", "kind", "text"),
    [
        (80.0, None, True, OutcomeKind.MET, "met"),
        (79.4, 100.0, True, OutcomeKind.MET, "met"),
        (71.0, None, True, OutcomeKind.MISSED, "missed by 9 %"),
        (70.0, 70.0, True, OutcomeKind.CAPPED, "capped by the car's limit at 70 %"),
        (55.0, None, False, OutcomeKind.INFEASIBLE, "infeasible: plugged in too late"),
        (None, None, True, OutcomeKind.MISSED, "missed (SoC unknown)"),
    ],
)
def test_outcome_rules(
    soc: float | None, limit: float | None, feasible: bool, kind: OutcomeKind, text: str
) -> None:
    result = plan_outcome(
        PLAN, deadline=DEADLINE, reading=reading(soc, limit=limit),
        schedule=schedule(feasible=feasible), at=DEADLINE,
    )  # fmt: skip
    assert result.kind is kind
    assert result.describe().startswith(text)


def test_a_limit_below_the_target_caps_it_and_the_outlook_says_so() -> None:
    capped = reading(50.0, limit=80.0)
    target = PlanRecord("v1", "u1", 100.0, deadline=DEADLINE)
    assert effective_target(target, capped) == 80.0
    assert effective_target(target, reading(50.0, limit=100.0)) == 100.0
    view = outlook(target, schedule=schedule(feasible=True), reading=capped, now=DEADLINE)
    assert view.warning() == "capped by the car's limit at 80 %"
    assert outlook(PLAN, schedule=schedule(feasible=False, soc=60), reading=None, now=DEADLINE
                   ).warning() == "infeasible: expect 60 % at the deadline"  # fmt: skip


async def world_with_outcomes(car: FakeCar, *, prices: bool = True) -> World:
    world = await make_world([car])
    stores = world.stores
    slots = stores.prices if prices else InMemoryPriceSlotStore()
    ports = Ports(
        world.enode, stores.vehicles, stores.plans, world.schedules, stores.intents,
        slots, outcomes=stores.outcomes,
    )  # fmt: skip
    world.rec = Reconciler(
        ports, SETTINGS, zone=ZONE, planner=plan, next_deadline=next_deadline, clock=world.clock
    )
    return world


async def outcome_of(world: World) -> PlanOutcome:
    return (await world.stores.outcomes.get_outcomes(["v1"]))["v1"]


async def test_a_met_one_off_plan_records_met_once() -> None:
    world = await world_with_outcomes(FakeCar("v1", "u1", soc_percent=40.0))
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    with capture_logs() as logs:
        await world.run(hours=24)
    recorded = await outcome_of(world)
    assert (recorded.kind, recorded.deadline) == (OutcomeKind.MET, TOMORROW_7)
    events = [e for e in logs if e["event"] == "plan_outcome"]
    assert [(e["outcome"], e["log_level"]) for e in events] == [("met", "info")]


async def test_a_plan_plugged_in_too_late_warns_once_and_records_infeasible() -> None:
    world = await world_with_outcomes(FakeCar("v1", "u1", soc_percent=20.0, power_kw=3.7))
    # 60 kWh from 20 to 90 % at 3.7 kW takes ~12.6 h; the deadline is 6 h away.
    deadline = world.clock.now() + timedelta(hours=6)
    await world.add_plan("v1", target=90.0, deadline=deadline)
    await world.rec.load(now=world.clock.now())
    with capture_logs() as logs:
        await world.run(hours=8)
    recorded = await outcome_of(world)
    assert recorded.kind is OutcomeKind.INFEASIBLE
    assert recorded.describe().startswith("infeasible: plugged in too late")
    at_risk = [e for e in logs if e["event"] == "plan_at_risk"]
    assert len(at_risk) == 1
    assert at_risk[0]["log_level"] == "warning"
    outcome_lines = [e for e in logs if e["event"] == "plan_outcome"]
    assert [e["log_level"] for e in outcome_lines] == ["warning"]


async def test_a_car_limit_below_the_target_is_capped_not_done_and_explained() -> None:
    world = await world_with_outcomes(FakeCar("v1", "u1", soc_percent=40.0, limit_percent=80.0))
    await world.add_plan("v1", target=100.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    with capture_logs() as logs:
        await world.run(hours=24)
    first = next(r for r in world.schedules.history if r.vehicle_id == "v1").schedule
    assert first.feasible
    assert first.soc_at_deadline_percent == pytest.approx(80.0, abs=0.5)
    assert "capped by the car's own charge limit at 80 %" in first.explanation[0]
    recorded = await outcome_of(world)
    assert recorded.kind is OutcomeKind.CAPPED
    assert recorded.describe() == "capped by the car's limit at 80 %"
    assert len([e for e in logs if e["event"] == "plan_at_risk"]) == 1


async def test_a_repeating_plan_records_each_deadline() -> None:
    world = await world_with_outcomes(FakeCar("v1", "u1", soc_percent=40.0))
    await world.stores.plans.put_plan(
        PlanRecord("v1", "u1", 70.0, weekdays=frozenset(range(7)), local_time=time(7, 0))
    )
    await world.rec.load(now=world.clock.now())
    await world.run(hours=21)  # past 07:00 UTC on the 11th
    assert (await outcome_of(world)).deadline == TOMORROW_7
    world.enode.cars["v1"].plugged = False
    world.enode.cars["v1"].soc_percent = 30.0
    await world.run(hours=24)  # the car stays away over the next deadline
    recorded = await outcome_of(world)
    assert recorded.deadline == TOMORROW_7 + timedelta(days=1)
    assert recorded.kind is not OutcomeKind.MET


async def test_waiting_for_prices_is_quiet_until_the_first_fetch_finished() -> None:
    world = await world_with_outcomes(FakeCar("v1", "u1", soc_percent=40.0), prices=False)
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    with capture_logs() as logs:
        await world.rec.step(now=world.clock.now(), epochs=every_shard(1))
    assert "plan_waiting_for_prices" not in [e["event"] for e in logs]
    world.rec.prices_fetched()
    await world.clock.advance(3600)
    with capture_logs() as logs:
        await world.run(hours=3)  # polls every 5 minutes: one line, not one per poll
    assert [e["event"] for e in logs].count("plan_waiting_for_prices") == 1
