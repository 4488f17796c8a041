"""The web page's `missed` and its outcome cell agree with the recorded plan outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enode_scheduler.api.web.fleet import Problem, _outcome, problems_of
from enode_scheduler.records import (
    OutcomeKind,
    PlanOutcome,
    PlanRecord,
    PlanStatus,
    VehicleReading,
)

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
DEADLINE = NOW - timedelta(hours=1)


def _reading(soc: float, *, limit: float | None = None) -> VehicleReading:
    return VehicleReading(
        "v1", "u1", "TESLA", NOW, True, soc, True, False, None,
        battery_capacity_kwh=60.0, charge_limit_percent=limit,
    )  # fmt: skip


def _plan(status: PlanStatus = PlanStatus.ACTIVE) -> PlanRecord:
    return PlanRecord("v1", "u1", target_soc_percent=80.0, deadline=DEADLINE, status=status)


@pytest.mark.parametrize(
    ("kind", "missed"),
    [
        (OutcomeKind.MET, False),
        (OutcomeKind.CAPPED, False),
        (OutcomeKind.MISSED, True),
        (OutcomeKind.INFEASIBLE, True),
    ],
)
def test_a_recorded_outcome_decides_missed(kind: OutcomeKind, missed: bool) -> None:
    outcome = PlanOutcome("v1", DEADLINE, kind, 80.0, 71.0)
    # The car charged on since: its SoC now says nothing about the deadline.
    found = problems_of(_reading(95.0), None, _plan(), None, now=NOW, outcome=outcome)
    assert (Problem.MISSED in found) is missed


def test_without_an_outcome_a_done_plan_is_judged_the_same_way() -> None:
    done = _plan(PlanStatus.DONE)
    assert Problem.MISSED in problems_of(_reading(60.0), None, done, None, now=NOW)
    capped = _reading(69.5, limit=70.0)
    assert Problem.MISSED not in problems_of(capped, None, done, None, now=NOW)


def test_the_outcome_cell_names_the_last_deadline() -> None:
    outcome = PlanOutcome("v1", DEADLINE, OutcomeKind.MISSED, 80.0, 71.0)
    assert _outcome(_plan(), outcome) == "active; last: missed by 9 %"
    assert _outcome(_plan(), None) == "active"
    assert _outcome(None, outcome) == "no plan"
