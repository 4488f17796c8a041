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
    Presence,
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


def test_vendor_outage_follows_the_paused_vendor_set_as_it_changes() -> None:
    # The set the daemon passes is the Enode client's (`gates.paused_vendors`), which each
    # `/health/vendors` call replaces: here a fake one, changed between steps.
    paused: set[str] = set()
    d = Detector()
    seen = []
    for minute, vendors in enumerate(([], ["BMW"], ["BMW"], ["BMW"], [], [])):
        paused.clear()
        paused.update(vendors)
        seen += d.vendors(frozenset(paused), now=NOW + timedelta(minutes=10 * minute))
    assert [e.event_id for e in seen] == [
        "vendor_outage:BMW:start:2026-12-01T18:10Z",
        "vendor_outage:BMW:end:2026-12-01T18:10Z",
    ]
    assert [e.title for e in seen] == ["BMW outage", "BMW outage over"]
    assert all(e.kind is EventKind.VENDOR_OUTAGE and e.vehicle_id is None for e in seen)
    # A second outage is a new happening with ids of its own.
    [again] = d.vendors({"BMW"}, now=NOW + timedelta(hours=2))
    assert again.event_id == "vendor_outage:BMW:start:2026-12-01T20:00Z"


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


def _away(
    presence: Presence | None,
    *,
    plugged_in: bool = True,
    where: str | None = "loc-work",
    deadline: datetime = DEADLINE,
    location_id: str | None = "loc-home",
) -> CarFacts:
    facts = _facts(80.0, deadline=deadline)
    plan = dataclasses.replace(facts.plan, location_id=location_id, presence=presence)
    return dataclasses.replace(facts, plan=plan, plugged_in=plugged_in, charging_location_id=where)


def test_car_away_with_plan_once_per_plug_in_away() -> None:
    d = Detector()
    assert d.cars([_away(Presence.AWAY, plugged_in=False)], now=NOW) == []
    assert d.cars([_away(Presence.AT_LOCATION, where="loc-home")], now=NOW) == []
    [event] = d.cars([_away(Presence.AWAY)], now=NOW + timedelta(minutes=5))
    assert event.kind is EventKind.CAR_AWAY_WITH_PLAN
    assert event.event_id == "car_away_with_plan:v1:2026-12-02T06:00Z:loc-work"
    assert (event.vehicle_id, event.user_id) == ("v1", "u1")
    assert "loc-work" in event.message
    assert "loc-home" in event.message
    # Still plugged in there: the same episode, nothing new.
    for minutes in (10, 60, 180):
        assert d.cars([_away(Presence.AWAY)], now=NOW + timedelta(minutes=minutes)) == []
    # A restart during the episode finds the same id: the outbox drops the duplicate.
    assert [e.event_id for e in Detector().cars([_away(Presence.AWAY)], now=NOW)] == [
        event.event_id
    ]
    # Unplugged, then plugged in at a place that is no charging location: a new episode.
    assert d.cars([_away(Presence.AWAY, plugged_in=False)], now=NOW + timedelta(hours=4)) == []
    [other] = d.cars([_away(Presence.AWAY, where=None)], now=NOW + timedelta(hours=5))
    assert other.event_id == "car_away_with_plan:v1:2026-12-02T06:00Z:elsewhere"
    assert "no charging location" in other.message
    # Next day's deadline: the same place is news again.
    d.cars([_away(Presence.AT_LOCATION, where="loc-home")], now=NOW + timedelta(hours=20))
    [next_day] = d.cars(
        [_away(Presence.AWAY, deadline=DEADLINE + timedelta(days=1))],
        now=NOW + timedelta(hours=22),
    )
    assert next_day.event_id == "car_away_with_plan:v1:2026-12-03T06:00Z:loc-work"


def test_car_away_only_for_an_active_plan_with_a_location() -> None:
    d = Detector()
    unknown = _away(Presence.LOCATION_UNKNOWN, where=None)
    no_location = _away(Presence.NO_LOCATION, location_id=None)
    failed = dataclasses.replace(
        _away(Presence.AWAY),
        plan=dataclasses.replace(_away(Presence.AWAY).plan, status=PlanStatus.FAILED),
    )
    disabled = dataclasses.replace(
        _away(Presence.AWAY), plan=dataclasses.replace(_away(Presence.AWAY).plan, enabled=False)
    )
    found = d.cars([unknown, no_location, disabled], now=NOW)
    assert found == []
    assert [e.kind for e in d.cars([failed], now=NOW)] == [EventKind.COMMAND_FAILED]


def test_a_car_stopped_by_its_own_limit_is_capped_not_missed() -> None:
    # The recorded outcome says `capped by the car's limit at 70 %`: no goal_missed either.
    d = Detector()
    d.cars([_facts(80.0)], now=NOW)
    capped = dataclasses.replace(_facts(80.0, soc=69.5), charge_limit_percent=70.0)
    assert d.cars([capped], now=DEADLINE + timedelta(minutes=1)) == []
    below = dataclasses.replace(_facts(80.0, soc=50.0), charge_limit_percent=70.0)
    late = Detector().cars([below], now=DEADLINE + timedelta(minutes=1))
    assert [e.kind for e in late] == [EventKind.GOAL_MISSED]
