"""In-memory twins of the ports, for fast unit tests. They really work (no mocks) and pass the
same contract tests as the real adapters (tests/integration/store/).

Sections: each area appends its own twins under its own heading.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from enode_scheduler.clock import Clock, FakeClock
from enode_scheduler.exceptions import PriceError, PricesNotPublished, StaleEpoch, StoreError
from enode_scheduler.planner.models import Slot
from enode_scheduler.records import (
    CommandIntent,
    IntentStatus,
    Lease,
    OverrideRecord,
    PlanOutcome,
    PlanRecord,
    PlanStatus,
    ScheduleRecord,
    UserRecord,
    UserTokens,
    VehicleReading,
)

__all__ = [
    "FakeClock",
    "InMemoryCommandIntentStore",
    "InMemoryLeaseStore",
    "InMemoryOverrideStore",
    "InMemoryPlanStore",
    "InMemoryPriceSlotStore",
    "InMemoryPriceSource",
    "InMemoryScheduleStore",
    "InMemoryStore",
    "InMemoryTokenStore",
    "InMemoryUserStore",
    "InMemoryVehicleStore",
]

# Store twins ---------------------------------------------------------------------------------

if TYPE_CHECKING:
    from enode_scheduler.ports import (
        CommandIntentStore,
        LeaseStore,
        OutcomeStore,
        OverrideStore,
        PlanStore,
        PriceSlotStore,
        ScheduleStore,
        TokenStore,
        UserStore,
        VehicleStore,
    )


@dataclass
class _Tables:
    """The rows all twins of one store share, so deleting a user reaches every aggregate."""

    users: dict[str, UserRecord] = field(default_factory=dict)
    tokens: dict[str, UserTokens] = field(default_factory=dict)
    vehicles: dict[str, VehicleReading] = field(default_factory=dict)
    plans: dict[str, PlanRecord] = field(default_factory=dict)
    schedules: dict[str, ScheduleRecord] = field(default_factory=dict)
    overrides: dict[str, OverrideRecord] = field(default_factory=dict)
    outcomes: dict[str, PlanOutcome] = field(default_factory=dict)

    def ensure_user(self, user_id: str) -> None:
        self.users.setdefault(user_id, UserRecord(user_id=user_id))


class InMemoryUserStore:
    """UserStore and TokenStore, with the SQL store's rules (see store/users.py)."""

    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    def _out(self, user: UserRecord) -> UserRecord:
        return dataclasses.replace(user, linked=user.user_id in self._t.tokens)

    async def upsert_user(self, user: UserRecord) -> UserRecord:
        old = self._t.users.get(user.user_id)
        stored = user if old is None else dataclasses.replace(old, timezone=user.timezone)
        self._t.users[user.user_id] = dataclasses.replace(stored, linked=False)
        return self._out(self._t.users[user.user_id])

    async def get_user(self, user_id: str) -> UserRecord | None:
        user = self._t.users.get(user_id)
        return None if user is None else self._out(user)

    async def list_users(self) -> list[UserRecord]:
        return [self._out(self._t.users[uid]) for uid in sorted(self._t.users)]

    async def delete_user(self, user_id: str) -> bool:
        if self._t.users.pop(user_id, None) is None:
            return False
        self._t.tokens.pop(user_id, None)
        owned = {v for v, r in self._t.vehicles.items() if r.user_id == user_id}
        owned |= {v for v, p in self._t.plans.items() if p.user_id == user_id}
        for vehicle_id in owned:
            self._t.schedules.pop(vehicle_id, None)
            self._t.overrides.pop(vehicle_id, None)
            self._t.outcomes.pop(vehicle_id, None)
            if (reading := self._t.vehicles.get(vehicle_id)) and reading.user_id == user_id:
                del self._t.vehicles[vehicle_id]
            if (plan := self._t.plans.get(vehicle_id)) and plan.user_id == user_id:
                del self._t.plans[vehicle_id]
        return True

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        return self._t.tokens.get(user_id)

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        self._t.ensure_user(user_id)
        self._t.tokens[user_id] = tokens
        user = self._t.users[user_id]
        self._t.users[user_id] = dataclasses.replace(user, needs_relink=False, relink_reason=None)

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        self._t.ensure_user(user_id)
        user = self._t.users[user_id]
        self._t.users[user_id] = dataclasses.replace(user, needs_relink=True, relink_reason=reason)


class InMemoryVehicleStore:
    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def save_readings(self, readings: Sequence[VehicleReading]) -> None:
        for reading in readings:
            old = self._t.vehicles.get(reading.vehicle_id)
            older = (
                old is not None
                and old.last_seen is not None
                and reading.last_seen is not None
                and reading.last_seen < old.last_seen
            )
            if not older:
                self._t.ensure_user(reading.user_id)
                self._t.vehicles[reading.vehicle_id] = reading

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        wanted = self._t.vehicles.keys() if vehicle_ids is None else vehicle_ids
        return {v: self._t.vehicles[v] for v in wanted if v in self._t.vehicles}

    async def list_vehicle_ids(self, user_id: str | None = None) -> list[str]:
        return sorted(
            v for v, r in self._t.vehicles.items() if user_id is None or r.user_id == user_id
        )


class InMemoryPlanStore:
    def __init__(self, tables: _Tables | None = None, *, clock: Clock) -> None:
        self._t = tables or _Tables()
        self._clock = clock
        self._ids = itertools.count(1)

    async def put_plan(self, plan: PlanRecord) -> PlanRecord:
        now = self._clock.now()
        old = self._t.plans.get(plan.vehicle_id)
        self._t.ensure_user(plan.user_id)
        stored = dataclasses.replace(
            plan,
            plan_id=old.plan_id if old else next(self._ids),
            created_at=old.created_at if old else now,
            updated_at=now,
        )
        self._t.plans[plan.vehicle_id] = stored
        return stored

    async def get_plan(self, vehicle_id: str) -> PlanRecord | None:
        return self._t.plans.get(vehicle_id)

    async def list_plans(self, *, enabled_only: bool = False) -> list[PlanRecord]:
        plans = [self._t.plans[v] for v in sorted(self._t.plans)]
        return [p for p in plans if p.enabled or not enabled_only]

    async def delete_plan(self, vehicle_id: str) -> bool:
        self._t.outcomes.pop(vehicle_id, None)
        return self._t.plans.pop(vehicle_id, None) is not None

    async def set_plan_status(
        self, vehicle_id: str, status: PlanStatus, *, reason: str | None = None
    ) -> None:
        if (plan := self._t.plans.get(vehicle_id)) is not None:
            self._t.plans[vehicle_id] = dataclasses.replace(
                plan, status=status, status_reason=reason
            )

    async def plans_changed_since(self, since: datetime) -> list[PlanRecord]:
        changed = [p for p in self._t.plans.values() if p.updated_at and p.updated_at > since]
        return sorted(changed, key=lambda p: p.updated_at or since)


class InMemoryScheduleStore:
    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def save_schedule(self, record: ScheduleRecord) -> None:
        self._t.schedules[record.vehicle_id] = record

    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        for record in records:
            self._t.schedules[record.vehicle_id] = record

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        return self._t.schedules.get(vehicle_id)

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        return {v: self._t.schedules[v] for v in vehicle_ids if v in self._t.schedules}


class InMemoryPriceSlotStore:
    def __init__(self) -> None:
        self._slots: dict[str, dict[datetime, Slot]] = {}

    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        stored = self._slots.setdefault(zone, {})
        changed = 0
        for slot in slots:
            slot = dataclasses.replace(
                slot, start=slot.start.astimezone(UTC), end=slot.end.astimezone(UTC)
            )
            if stored.get(slot.start) != slot:
                changed += 1
                stored[slot.start] = slot
        return changed

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        slots = self._slots.get(zone, {}).values()
        return sorted((s for s in slots if s.start < end and s.end > start), key=lambda s: s.start)


class InMemoryLeaseStore:
    """Leases on the given clock (the SQL store uses database time instead)."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._leases: dict[str, Lease] = {}

    async def acquire(self, name: str, *, holder: str, ttl_s: float) -> Lease | None:
        now = self._clock.now()
        old = self._leases.get(name)
        if old is None:
            epoch = 1
        elif old.holder == holder and old.expires_at > now:
            epoch = old.epoch
        elif old.expires_at <= now:
            epoch = old.epoch + 1
        else:
            return None
        lease = Lease(name, holder, epoch, now + timedelta(seconds=ttl_s))
        self._leases[name] = lease
        return lease

    async def release(self, lease: Lease) -> None:
        old = self._leases.get(lease.name)
        if old is not None and (old.holder, old.epoch) == (lease.holder, lease.epoch):
            self._leases[lease.name] = dataclasses.replace(old, expires_at=self._clock.now())

    async def current(self, name: str) -> Lease | None:
        lease = self._leases.get(name)
        if lease is None or lease.expires_at <= self._clock.now():
            return None
        return lease

    def epoch(self, name: str) -> int:
        """The lease's epoch even when expired; 0 when it was never taken."""
        lease = self._leases.get(name)
        return 0 if lease is None else lease.epoch


class InMemoryCommandIntentStore:
    """Fenced by `leases` exactly like the SQL store (see store/intents.py)."""

    def __init__(
        self, *, clock: Clock, leases: InMemoryLeaseStore, lease_name: str = "leader"
    ) -> None:
        self._clock = clock
        self._leases = leases
        self._lease_name = lease_name
        self._intents: dict[str, CommandIntent] = {}
        self._ids = itertools.count(1)

    async def create_intent(self, intent: CommandIntent) -> CommandIntent | None:
        if intent.key in self._intents:
            return None
        stored = dataclasses.replace(
            intent, intent_id=next(self._ids), created_at=intent.created_at or self._clock.now()
        )
        self._intents[intent.key] = stored
        return stored

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        wanted = set(vehicle_ids)
        flying = (IntentStatus.PENDING, IntentStatus.SENT)
        return {
            i.vehicle_id: i
            for i in sorted(self._intents.values(), key=lambda i: i.intent_id or 0)
            if i.vehicle_id in wanted and i.status in flying
        }

    async def mark_sent(self, key: str, *, epoch: int, at: datetime) -> None:
        intent = self._get(key)
        if epoch != self._leases.epoch(self._lease_name):
            raise StaleEpoch(f"epoch {epoch} is not the current leader's; intent {key!r} not sent")
        self._intents[key] = dataclasses.replace(
            intent, status=IntentStatus.SENT, epoch=epoch, sent_at=at, attempts=intent.attempts + 1
        )

    async def record_sends(
        self, sends: Sequence[CommandIntent], *, epoch: int, at: datetime
    ) -> list[CommandIntent]:
        if sends and epoch != self._leases.epoch(self._lease_name):
            raise StaleEpoch(f"epoch {epoch} is not the current leader's; nothing sent")
        written = []
        for intent in sends:
            if intent.key in self._intents:
                continue
            stored = dataclasses.replace(
                intent, intent_id=next(self._ids), created_at=intent.created_at or at,
                status=IntentStatus.SENT, epoch=epoch, sent_at=at, attempts=1,
            )  # fmt: skip
            self._intents[intent.key] = stored
            written.append(stored)
        return written

    async def record_outcomes(
        self, verified: Sequence[str], failed: Mapping[str, str], *, at: datetime
    ) -> None:
        for key in verified:
            if key in self._intents:
                await self.mark_verified(key, at=at)
        for key, error in failed.items():
            if key in self._intents:
                await self.mark_failed(key, error=error, at=at)

    async def mark_verified(self, key: str, *, at: datetime) -> None:
        self._intents[key] = dataclasses.replace(
            self._get(key), status=IntentStatus.VERIFIED, verified_at=at, error=None
        )

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None:
        self._intents[key] = dataclasses.replace(
            self._get(key), status=IntentStatus.FAILED, verified_at=at, error=error
        )

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]:
        found = [
            i
            for i in self._intents.values()
            if i.vehicle_id == vehicle_id and i.created_at is not None and i.created_at >= since
        ]
        return sorted(found, key=lambda i: (i.created_at or since, i.intent_id or 0))

    def _get(self, key: str) -> CommandIntent:
        if key not in self._intents:
            raise StoreError(f"no command intent with key {key!r}")
        return self._intents[key]


class InMemoryOverrideStore:
    """OverrideStore over the shared tables, so deleting a user removes their overrides."""

    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def put_override(self, record: OverrideRecord) -> None:
        self._t.overrides[record.vehicle_id] = record

    async def get_override(self, vehicle_id: str) -> OverrideRecord | None:
        return self._t.overrides.get(vehicle_id)

    async def clear_override(self, vehicle_id: str) -> bool:
        return self._t.overrides.pop(vehicle_id, None) is not None

    async def get_overrides(self, vehicle_ids: Sequence[str]) -> dict[str, OverrideRecord]:
        rows = self._t.overrides
        return {v: rows[v] for v in vehicle_ids if v in rows}


class InMemoryOutcomeStore:
    """OutcomeStore over the shared tables; an outcome goes with its plan."""

    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def record_outcome(self, outcome: PlanOutcome) -> None:
        if outcome.vehicle_id not in self._t.plans:
            raise StoreError(f"no plan for vehicle {outcome.vehicle_id!r}")
        self._t.outcomes[outcome.vehicle_id] = outcome

    async def get_outcomes(self, vehicle_ids: Sequence[str]) -> dict[str, PlanOutcome]:
        rows = self._t.outcomes
        return {v: rows[v] for v in vehicle_ids if v in rows}


@dataclass(frozen=True)
class InMemoryStore:
    """The twin of `store.Store`: the same attribute names, over shared in-memory tables."""

    users: InMemoryUserStore
    tokens: InMemoryUserStore
    vehicles: InMemoryVehicleStore
    plans: InMemoryPlanStore
    schedules: InMemoryScheduleStore
    prices: InMemoryPriceSlotStore
    intents: InMemoryCommandIntentStore
    leases: InMemoryLeaseStore
    overrides: InMemoryOverrideStore
    outcomes: InMemoryOutcomeStore

    @classmethod
    def create(cls, *, clock: Clock, lease_name: str = "leader") -> InMemoryStore:
        tables = _Tables()
        users = InMemoryUserStore(tables)
        leases = InMemoryLeaseStore(clock=clock)
        return cls(
            users=users,
            tokens=users,
            vehicles=InMemoryVehicleStore(tables),
            plans=InMemoryPlanStore(tables, clock=clock),
            schedules=InMemoryScheduleStore(tables),
            prices=InMemoryPriceSlotStore(),
            intents=InMemoryCommandIntentStore(clock=clock, leases=leases, lease_name=lease_name),
            leases=leases,
            overrides=InMemoryOverrideStore(tables),
            outcomes=InMemoryOutcomeStore(tables),
        )


if TYPE_CHECKING:
    # mypy proves the twins implement the ports exactly.
    def _implements_ports(store: InMemoryStore) -> None:
        _users: UserStore = store.users
        _tokens: TokenStore = store.tokens
        _vehicles: VehicleStore = store.vehicles
        _plans: PlanStore = store.plans
        _schedules: ScheduleStore = store.schedules
        _prices: PriceSlotStore = store.prices
        _intents: CommandIntentStore = store.intents
        _leases: LeaseStore = store.leases
        _overrides: OverrideStore = store.overrides
        _outcomes: OutcomeStore = store.outcomes


# Price source twin


class InMemoryPriceSource:
    """PriceSource serving what a test `publish`es; `fail_with` makes every fetch raise."""

    def __init__(self) -> None:
        self._slots: dict[str, dict[datetime, Slot]] = {}
        self.failure: PriceError | None = None
        self.fetches = 0

    def publish(self, zone: str, slots: Sequence[Slot]) -> None:
        self._slots.setdefault(zone, {}).update((s.start, s) for s in slots)

    def fail_with(self, error: PriceError | None) -> None:
        self.failure = error

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        self.fetches += 1
        if self.failure is not None:
            raise self.failure
        found = [s for s in self._slots.get(zone, {}).values() if s.end > start and s.start < end]
        if not found:
            raise PricesNotPublished(f"in-memory: no prices for {zone} from {start.isoformat()}")
        return sorted(found, key=lambda s: s.start)


# Enode token store twin ------------------------------------------------------------------------


class InMemoryTokenStore:
    """A bare `ports.TokenStore` in a dict; records who was marked for re-linking and why."""

    def __init__(self) -> None:
        self.tokens: dict[str, UserTokens] = {}
        self.needs_relink: dict[str, str] = {}
        self.saves = 0

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        return self.tokens.get(user_id)

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        self.tokens[user_id] = tokens
        self.needs_relink.pop(user_id, None)
        self.saves += 1

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        self.needs_relink[user_id] = reason
