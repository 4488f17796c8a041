"""Contract: plan outcomes on every store implementation (in-memory twin, SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enode_scheduler.records import OutcomeKind, PlanOutcome, PlanRecord

from .conftest import START


def outcome(kind: OutcomeKind, *, days: int = 0, soc: float | None = 71.0) -> PlanOutcome:
    deadline = START + timedelta(days=days, hours=6)
    return PlanOutcome("v1", deadline, kind, 80.0, soc, limit_percent=100.0, recorded_at=deadline)


async def test_the_latest_outcome_per_vehicle_round_trips(store: Any) -> None:
    await store.plans.put_plan(PlanRecord("v1", "u1", 80.0, deadline=START + timedelta(hours=6)))
    assert await store.outcomes.get_outcomes(["v1"]) == {}
    await store.outcomes.record_outcome(outcome(OutcomeKind.MISSED))
    got = (await store.outcomes.get_outcomes(["v1", "v9"]))["v1"]
    assert got == outcome(OutcomeKind.MISSED)
    assert got.describe() == "missed by 9 %"
    await store.outcomes.record_outcome(outcome(OutcomeKind.MET, days=1, soc=None))
    assert await store.outcomes.get_outcomes(["v1"]) == {
        "v1": outcome(OutcomeKind.MET, days=1, soc=None)
    }


async def test_an_outcome_goes_with_its_plan(store: Any) -> None:
    await store.plans.put_plan(PlanRecord("v1", "u1", 80.0, deadline=START + timedelta(hours=6)))
    await store.outcomes.record_outcome(outcome(OutcomeKind.CAPPED))
    await store.plans.delete_plan("v1")
    assert await store.outcomes.get_outcomes(["v1"]) == {}
    await store.plans.put_plan(PlanRecord("v1", "u1", 80.0, deadline=START + timedelta(hours=6)))
    await store.outcomes.record_outcome(outcome(OutcomeKind.CAPPED))
    await store.users.delete_user("u1")
    assert await store.outcomes.get_outcomes(["v1"]) == {}
