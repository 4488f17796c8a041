"""Event detection: each happening once, with an id that does not change when seen again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from enode_scheduler.notify.detect import CarFacts, Detector
from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import (
    EventKind,
    PlanRecord,
    PlanStatus,
    ScheduleRecord,
    UserRecord,
)

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=12)


def _facts(
    expected: float,
    *,
    soc: float = 30.0,
    deadline: datetime = DEADLINE,
    status: PlanStatus = PlanStatus.ACTIVE,
    computed_at: datetime = NOW,
) -> CarFacts:
    schedule = Schedule(
        feasible=expected >= 80, windows=(), grid_energy_kwh=10, cost=1, starts=1,
        soc_at_deadline_percent=expected,
    )  # fmt: skip
    plan = PlanRecord("v1", "u1", target_soc_percent=80.0, deadline=deadline, status=status,
                      status_reason="START not confirmed after retries")  # fmt: skip
    return CarFacts("v1", "u1", plan, ScheduleRecord("v1", schedule, deadline, computed_at), soc)


def test_goal_at_risk_once_per_deadline() -> None:
    d = Detector()
    assert d.cars([_facts(80.0)], now=NOW) == []
    [event] = d.cars([_facts(60.0)], now=NOW)
    assert event.kind is EventKind.GOAL_AT_RISK
    assert event.event_id == "goal_at_risk:v1:2026-12-02T06:00Z"
    assert "60 %" in event.message
    assert d.cars([_facts(55.0)], now=NOW + timedelta(minutes=5)) == []
    # A fresh detector (a restart) finds the same id: the outbox drops the duplicate.
    assert [e.event_id for e in Detector().cars([_facts(55.0)], now=NOW)] == [event.event_id]


def test_goal_missed_when_the_deadline_passes_below_target() -> None:
    d = Detector()
    d.cars([_facts(80.0, soc=40.0)], now=NOW)
    after = DEADLINE + timedelta(minutes=1)
    # The repeating plan is already replanned for the next day when the step is over.
    next_day = _facts(80.0, soc=70.0, deadline=DEADLINE + timedelta(days=1))
    [event] = d.cars([next_day], now=after)
    assert event.kind is EventKind.GOAL_MISSED
    assert event.event_id == "goal_missed:v1:2026-12-02T06:00Z"
    assert "70 %" in event.message
    assert d.cars([next_day], now=after + timedelta(minutes=1)) == []


def test_goal_met_is_silent_and_a_restart_checks_a_passed_deadline() -> None:
    d = Detector()
    d.cars([_facts(80.0)], now=NOW)
    assert d.cars([_facts(80.0, soc=79.5)], now=DEADLINE + timedelta(minutes=1)) == []
    # After a restart the loaded (passed) schedule is looked at once.
    late = Detector().cars([_facts(80.0, soc=50.0)], now=DEADLINE + timedelta(hours=1))
    assert [e.kind for e in late] == [EventKind.GOAL_MISSED]


def test_command_failed_once_per_failure() -> None:
    d = Detector()
    failed = _facts(80.0, status=PlanStatus.FAILED)
    [event] = d.cars([failed], now=NOW)
    assert event.kind is EventKind.COMMAND_FAILED
    assert "not confirmed" in event.message
    assert d.cars([failed], now=NOW + timedelta(minutes=1)) == []
    again = _facts(80.0, status=PlanStatus.FAILED, computed_at=NOW + timedelta(hours=1))
    assert [e.kind for e in d.cars([again], now=NOW + timedelta(hours=1))] == [
        EventKind.COMMAND_FAILED
    ]


def test_relink_required_on_each_breakage() -> None:
    d = Detector()
    ok, broken = UserRecord("u1"), UserRecord("u1", needs_relink=True, relink_reason="revoked")
    assert d.users([ok], now=NOW) == []
    [event] = d.users([broken], now=NOW)
    assert event.kind is EventKind.RELINK_REQUIRED
    assert "revoked" in event.message
    assert d.users([broken], now=NOW + timedelta(hours=1)) == []
    d.users([ok], now=NOW + timedelta(days=2))
    assert len(d.users([broken], now=NOW + timedelta(days=3))) == 1


def test_vendor_outage_start_and_end() -> None:
    d = Detector()
    [start] = d.vendors({"TESLA"}, now=NOW)
    assert d.vendors({"TESLA"}, now=NOW + timedelta(minutes=1)) == []
    [end] = d.vendors(set(), now=NOW + timedelta(hours=1))
    assert (start.kind, end.kind) == (EventKind.VENDOR_OUTAGE, EventKind.VENDOR_OUTAGE)
    assert start.event_id.endswith(":start:2026-12-01T18:00Z")
    assert end.event_id == "vendor_outage:TESLA:end:2026-12-01T18:00Z"


def test_prices_missing_once_a_day_and_leader_once_per_epoch() -> None:
    d = Detector()
    assert d.prices_missing("NO1", [], now=NOW) == []
    assert len(d.prices_missing("NO1", ["v1"], now=NOW)) == 1
    assert d.prices_missing("NO1", ["v1"], now=NOW + timedelta(hours=1)) == []
    assert len(d.prices_missing("NO1", ["v1"], now=NOW + timedelta(days=1))) == 1
    [lead] = d.leader(3, "host:1", now=NOW)
    assert lead.event_id == "leader_changed:3"
    assert d.leader(3, "host:1", now=NOW) == []


def test_a_disabled_or_done_plan_is_not_at_risk() -> None:
    done = _facts(60.0, status=PlanStatus.DONE)
    assert Detector().cars([dataclasses.replace(done)], now=NOW) == []


def test_a_car_stopped_by_its_own_limit_is_capped_not_missed() -> None:
    # The recorded outcome says `capped by the car's limit at 70 %`: no goal_missed either.
    d = Detector()
    d.cars([_facts(80.0)], now=NOW)
    capped = dataclasses.replace(_facts(80.0, soc=69.5), charge_limit_percent=70.0)
    assert d.cars([capped], now=DEADLINE + timedelta(minutes=1)) == []
    below = dataclasses.replace(_facts(80.0, soc=50.0), charge_limit_percent=70.0)
    late = Detector().cars([below], now=DEADLINE + timedelta(minutes=1))
    assert [e.kind for e in late] == [EventKind.GOAL_MISSED]
