"""Which events the daemon's view of the fleet shows: pure, given `now` and what was seen before.

Every event id is derived from the happening itself (vehicle and deadline, epoch, day), so
detecting it again after a restart or on another replica yields the same id and the outbox,
unique per (event_id, target), sends it once. The in-memory `_sent` set only saves the database
a write per step for events already queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from enode_scheduler.records import (
    EventKind,
    NotifyEvent,
    OutcomeKind,
    PlanRecord,
    PlanStatus,
    Presence,
    ScheduleRecord,
    UserRecord,
    outcome_kind,
)

__all__ = ["CarFacts", "Detector"]

# Ids older than this can no longer come up again (deadlines, days): forget them.
_FORGET_AFTER = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class CarFacts:
    """What the detector needs of one planned car."""

    vehicle_id: str
    user_id: str
    plan: PlanRecord
    record: ScheduleRecord | None
    soc_percent: float | None
    # The car's own charge limit: a car it stopped below the target is capped, not missed.
    charge_limit_percent: float | None = None
    plugged_in: bool | None = None
    # Where Enode says the car is plugged in (one of the user's charging locations), if anywhere.
    charging_location_id: str | None = None


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%MZ")


class Detector:
    """Turns successive views of the fleet into events; remembers only what it must compare."""

    def __init__(self, *, tolerance_percent: float = 1.0) -> None:
        self._tolerance = tolerance_percent
        self._sent: dict[str, datetime] = {}
        # vehicle -> (deadline, target) of the last schedule seen: checked once the deadline passes.
        self._goals: dict[str, tuple[datetime, float]] = {}
        self._relinking: set[str] = set()
        self._outages: dict[str, datetime] = {}
        # vehicle -> id of its current plug-in away from the plan's location.
        self._away: dict[str, str] = {}

    def _new(self, events: Iterable[NotifyEvent], *, now: datetime) -> list[NotifyEvent]:
        fresh = [e for e in events if e.event_id not in self._sent]
        for event in fresh:
            self._sent[event.event_id] = now
        if len(self._sent) > 10_000:
            self._sent = {k: t for k, t in self._sent.items() if now - t < _FORGET_AFTER}
        return fresh

    def cars(self, facts: Iterable[CarFacts], *, now: datetime) -> list[NotifyEvent]:
        """goal_at_risk, goal_missed, command_failed and car_away_with_plan for the planned cars."""
        found: list[NotifyEvent] = []
        for car in facts:
            found.extend(self._missed(car, now=now))
            found.extend(self._at_risk(car, now=now))
            found.extend(self._failed(car, now=now))
            found.extend(self._plugged_in_away(car, now=now))
        return self._new(found, now=now)

    def _missed(self, car: CarFacts, *, now: datetime) -> list[NotifyEvent]:
        vid, record = car.vehicle_id, car.record
        remembered = self._goals.get(vid)
        if record is not None and record.deadline > now:
            self._goals[vid] = (record.deadline, car.plan.target_soc_percent)
        elif record is not None and remembered is None:
            remembered = (record.deadline, car.plan.target_soc_percent)
        if remembered is None or remembered[0] > now:
            return []
        deadline, target = remembered
        if self._goals.get(vid) == remembered:
            del self._goals[vid]
        soc = car.soc_percent
        # The same judgement as the recorded outcome (`plans list`, the web page): only a car
        # whose SoC is known and that missed (or could not make it) is news.
        kind = outcome_kind(
            target_percent=target,
            soc_percent=soc,
            limit_percent=car.charge_limit_percent,
            feasible=record.schedule.feasible if record is not None else None,
        )
        if soc is None or kind not in (OutcomeKind.MISSED, OutcomeKind.INFEASIBLE):
            return []
        return [
            NotifyEvent(
                event_id=f"goal_missed:{vid}:{_iso(deadline)}",
                kind=EventKind.GOAL_MISSED,
                at=now,
                title=f"{vid} missed its goal",
                message=(
                    f"{vid} ({car.user_id}) was at {soc:.0f} % at the deadline "
                    f"{_iso(deadline)}, below its target of {target:.0f} %."
                ),
                vehicle_id=vid,
                user_id=car.user_id,
            )
        ]

    def _at_risk(self, car: CarFacts, *, now: datetime) -> list[NotifyEvent]:
        record, plan = car.record, car.plan
        if record is None or plan.status is not PlanStatus.ACTIVE or record.deadline <= now:
            return []
        expected = record.schedule.soc_at_deadline_percent
        if expected >= plan.target_soc_percent - self._tolerance:
            return []
        vid = car.vehicle_id
        return [
            NotifyEvent(
                event_id=f"goal_at_risk:{vid}:{_iso(record.deadline)}",
                kind=EventKind.GOAL_AT_RISK,
                at=now,
                title=f"{vid} will miss its goal",
                message=(
                    f"{vid} ({car.user_id}) is expected at {expected:.0f} % by "
                    f"{_iso(record.deadline)}, below its target of "
                    f"{plan.target_soc_percent:.0f} %."
                ),
                vehicle_id=vid,
                user_id=car.user_id,
            )
        ]

    def _failed(self, car: CarFacts, *, now: datetime) -> list[NotifyEvent]:
        if car.plan.status is not PlanStatus.FAILED:
            return []
        vid = car.vehicle_id
        # The schedule the failed commands followed names this failure; a later one follows a
        # replan after the plan is edited, so it gets an id of its own.
        planned = _iso(car.record.computed_at) if car.record else "none"
        reason = car.plan.status_reason or "commands not confirmed"
        return [
            NotifyEvent(
                event_id=f"command_failed:{vid}:{planned}",
                kind=EventKind.COMMAND_FAILED,
                at=now,
                title=f"Commands to {vid} failed",
                message=f"{vid} ({car.user_id}): {reason}; its plan is marked failed.",
                vehicle_id=vid,
                user_id=car.user_id,
            )
        ]

    def _plugged_in_away(self, car: CarFacts, *, now: datetime) -> list[NotifyEvent]:
        """Once per plug-in away from the plan's charging location, where the plan is not followed.

        Enode gives no plug-in time, so the id names what the episode puts at stake: the plan's
        next deadline and where the car is plugged in. Seen again after a restart it gets the same
        id; a second plug-in at the same place before the same deadline is not news.
        """
        plan, vid = car.plan, car.vehicle_id
        away = (
            plan.enabled
            and plan.status is PlanStatus.ACTIVE
            and plan.location_id is not None
            and plan.presence is Presence.AWAY
            and bool(car.plugged_in)
        )
        if not away:
            self._away.pop(vid, None)
            return []
        if vid in self._away:
            return []
        deadline = car.record.deadline if car.record else plan.deadline
        where = car.charging_location_id
        event_id = (
            f"car_away_with_plan:{vid}:{_iso(deadline) if deadline else 'none'}:"
            f"{where or 'elsewhere'}"
        )
        self._away[vid] = event_id
        place = f"at charging location {where}" if where else "at no charging location of theirs"
        goal = f"{plan.target_soc_percent:.0f} %" + (f" by {_iso(deadline)}" if deadline else "")
        return [
            NotifyEvent(
                event_id=event_id,
                kind=EventKind.CAR_AWAY_WITH_PLAN,
                at=now,
                title=f"{vid} plugged in away",
                message=(
                    f"{vid} ({car.user_id}) is plugged in {place}, not at its plan's charging "
                    f"location {plan.location_id}: its plan ({goal}) is not followed there."
                ),
                vehicle_id=vid,
                user_id=car.user_id,
            )
        ]

    def users(self, users: Iterable[UserRecord], *, now: datetime) -> list[NotifyEvent]:
        """relink_required when a user's Enode link broke (once per breakage)."""
        found = []
        needing = set()
        for user in users:
            if not user.needs_relink:
                continue
            needing.add(user.user_id)
            if user.user_id in self._relinking:
                continue
            found.append(
                NotifyEvent(
                    event_id=f"relink_required:{user.user_id}:{now.date().isoformat()}",
                    kind=EventKind.RELINK_REQUIRED,
                    at=now,
                    title=f"{user.user_id} must link again",
                    message=(
                        f"User {user.user_id} must link their vehicle account again: "
                        f"{user.relink_reason or 'the Enode link no longer works'}."
                    ),
                    user_id=user.user_id,
                )
            )
        self._relinking = needing
        return self._new(found, now=now)

    def vendors(self, paused: Iterable[str], *, now: datetime) -> list[NotifyEvent]:
        """vendor_outage at the start and at the end of each vendor's outage."""
        paused_now = set(paused)
        found = []
        for vendor in sorted(paused_now - set(self._outages)):
            self._outages[vendor] = now
            found.append(
                NotifyEvent(
                    event_id=f"vendor_outage:{vendor}:start:{_iso(now)}",
                    kind=EventKind.VENDOR_OUTAGE,
                    at=now,
                    title=f"{vendor} outage",
                    message=f"Enode reports an outage of {vendor}: its cars are not commanded.",
                )
            )
        for vendor in sorted(set(self._outages) - paused_now):
            since = self._outages.pop(vendor)
            found.append(
                NotifyEvent(
                    event_id=f"vendor_outage:{vendor}:end:{_iso(since)}",
                    kind=EventKind.VENDOR_OUTAGE,
                    at=now,
                    title=f"{vendor} outage over",
                    message=f"The outage of {vendor} since {_iso(since)} is over.",
                )
            )
        return self._new(found, now=now)

    def prices_missing(
        self, zone: str, vehicle_ids: list[str], *, now: datetime
    ) -> list[NotifyEvent]:
        """prices_missing (once a day) while planned cars wait for prices."""
        if not vehicle_ids:
            return []
        event = NotifyEvent(
            event_id=f"prices_missing:{zone}:{now.date().isoformat()}",
            kind=EventKind.PRICES_MISSING,
            at=now,
            title=f"No prices for {zone}",
            message=(
                f"{len(vehicle_ids)} car(s) cannot be planned: no prices for {zone} cover "
                "their time to the deadline."
            ),
        )
        return self._new([event], now=now)

    def leader(self, epoch: int, holder: str, *, now: datetime) -> list[NotifyEvent]:
        """leader_changed: this process became the coordinator (took shard 0: a start, or a
        failover); `epoch` is shard 0's, so each change of coordinator is told once."""
        event = NotifyEvent(
            event_id=f"leader_changed:{epoch}",
            kind=EventKind.LEADER_CHANGED,
            at=now,
            title="New coordinator",
            message=(
                f"{holder} coordinates now (shard 0, epoch {epoch}): it fetches prices and "
                "delivers notifications."
            ),
        )
        return self._new([event], now=now)
