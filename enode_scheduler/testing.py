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
from typing import TYPE_CHECKING, Generic, TypeVar

from enode_scheduler.clock import Clock, FakeClock
from enode_scheduler.exceptions import (
    EnodeNotFound,
    LocationTaken,
    NotFound,
    PriceError,
    PricesNotPublished,
    StaleEpoch,
    StoreError,
)
from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.records import (
    ChargerReading,
    ChargingLocation,
    CommandIntent,
    EnergyBaseline,
    IntentStatus,
    OutboxEntry,
    OutboxStatus,
    OverrideRecord,
    PlanOutcome,
    PlanRecord,
    PlanStatus,
    Presence,
    RateGate,
    ReplicaRecord,
    ScheduleRecord,
    ShardLease,
    SiteLocation,
    SiteRecord,
    UserRecord,
    UserTokens,
    VehicleReading,
    check_site,
    check_site_location,
)

__all__ = [
    "FakeClock",
    "InMemoryChargerStore",
    "InMemoryCommandIntentStore",
    "InMemoryEnodeLocations",
    "InMemoryGateStore",
    "InMemoryIntensitySlotStore",
    "InMemoryLinkStateStore",
    "InMemoryLocationStore",
    "InMemoryOverrideStore",
    "InMemoryPlanStore",
    "InMemoryPriceSlotStore",
    "InMemoryPriceSource",
    "InMemoryScheduleStore",
    "InMemoryShardStore",
    "InMemorySiteStore",
    "InMemoryStore",
    "InMemoryUserStore",
    "InMemoryVehicleStore",
]

# Store twins ---------------------------------------------------------------------------------

if TYPE_CHECKING:
    from enode_scheduler.ports import (
        ChargerStore,
        CommandIntentStore,
        EnodeLocations,
        GateStore,
        IntensitySlotStore,
        LinkStateStore,
        LocationStore,
        OutboxStore,
        OutcomeStore,
        OverrideStore,
        PlanStore,
        PriceSlotStore,
        ScheduleStore,
        ShardStore,
        SiteStore,
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
    chargers: dict[str, ChargerReading] = field(default_factory=dict)
    baselines: dict[str, EnergyBaseline] = field(default_factory=dict)
    plans: dict[str, PlanRecord] = field(default_factory=dict)
    schedules: dict[str, ScheduleRecord] = field(default_factory=dict)
    overrides: dict[str, OverrideRecord] = field(default_factory=dict)
    outcomes: dict[str, PlanOutcome] = field(default_factory=dict)
    locations: dict[str, ChargingLocation] = field(default_factory=dict)
    sites: dict[str, SiteRecord] = field(default_factory=dict)

    def ensure_user(self, user_id: str) -> None:
        self.users.setdefault(user_id, UserRecord(user_id=user_id))


class InMemoryUserStore:
    """UserStore and TokenStore, with the SQL store's rules (see store/users.py).

    For tests: `tokens` is the table itself (seed or inspect it), `needs_relink` maps each flagged
    user to the reason, `saves` counts `save_tokens` calls.
    """

    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()
        self.saves = 0

    @property
    def tokens(self) -> dict[str, UserTokens]:
        return self._t.tokens

    @property
    def needs_relink(self) -> dict[str, str]:
        return {u.user_id: u.relink_reason or "" for u in self._t.users.values() if u.needs_relink}

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
        for lid in [k for k, loc in self._t.locations.items() if loc.user_id == user_id]:
            del self._t.locations[lid]
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
        for charger_id in [c for c, r in self._t.chargers.items() if r.user_id == user_id]:
            del self._t.chargers[charger_id]
            self._t.baselines.pop(charger_id, None)
        for name, site in self._t.sites.items():
            kept = tuple(loc for loc in site.locations if loc.user_id != user_id)
            self._t.sites[name] = dataclasses.replace(site, locations=kept)
        return True

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        return self._t.tokens.get(user_id)

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        self.saves += 1
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


class InMemoryChargerStore:
    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def save_charger_readings(self, readings: Sequence[ChargerReading]) -> None:
        for reading in readings:
            old = self._t.chargers.get(reading.charger_id)
            older = (
                old is not None
                and old.last_seen is not None
                and reading.last_seen is not None
                and reading.last_seen < old.last_seen
            )
            if not older:
                self._t.ensure_user(reading.user_id)
                self._t.chargers[reading.charger_id] = reading

    async def latest_charger_readings(
        self, charger_ids: Sequence[str] | None = None
    ) -> dict[str, ChargerReading]:
        wanted = self._t.chargers.keys() if charger_ids is None else charger_ids
        return {c: self._t.chargers[c] for c in wanted if c in self._t.chargers}

    async def list_charger_ids(self, user_id: str | None = None) -> list[str]:
        return sorted(
            c for c, r in self._t.chargers.items() if user_id is None or r.user_id == user_id
        )

    async def set_energy_baseline(self, baseline: EnergyBaseline) -> None:
        if baseline.charger_id in self._t.chargers:
            self._t.baselines[baseline.charger_id] = baseline

    async def get_energy_baselines(self, charger_ids: Sequence[str]) -> dict[str, EnergyBaseline]:
        return {c: self._t.baselines[c] for c in charger_ids if c in self._t.baselines}


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
            presence=None,
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

    async def set_presences(self, presences: Mapping[str, Presence]) -> None:
        for vehicle_id, presence in presences.items():
            if (plan := self._t.plans.get(vehicle_id)) is not None:
                self._t.plans[vehicle_id] = dataclasses.replace(plan, presence=presence)


class InMemoryLocationStore:
    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def replace_locations(self, user_id: str, locations: Sequence[ChargingLocation]) -> None:
        self._t.ensure_user(user_id)
        for lid in [k for k, loc in self._t.locations.items() if loc.user_id == user_id]:
            del self._t.locations[lid]
        for loc in locations:
            self._t.locations[loc.location_id] = dataclasses.replace(loc, user_id=user_id)

    async def put_location(self, location: ChargingLocation) -> None:
        self._t.ensure_user(location.user_id)
        self._t.locations[location.location_id] = location

    async def delete_location(self, location_id: str) -> bool:
        return self._t.locations.pop(location_id, None) is not None

    async def list_locations(self, user_id: str) -> list[ChargingLocation]:
        mine = [loc for loc in self._t.locations.values() if loc.user_id == user_id]
        return sorted(mine, key=lambda loc: (loc.name or "", loc.location_id))


class InMemoryScheduleStore:
    def __init__(self, tables: _Tables | None = None) -> None:
        self._t = tables or _Tables()

    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        for record in records:
            self._t.schedules[record.vehicle_id] = record

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        return self._t.schedules.get(vehicle_id)

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        return {v: self._t.schedules[v] for v in vehicle_ids if v in self._t.schedules}


_S = TypeVar("_S", Slot, IntensitySlot)


class _InMemorySlots(Generic[_S]):
    """A time series per zone keyed by start: the shared body of the price and CO2 caches."""

    def __init__(self) -> None:
        self._slots: dict[str, dict[datetime, _S]] = {}

    def _upsert(self, zone: str, slots: Sequence[_S]) -> int:
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

    def _get(self, zone: str, *, start: datetime, end: datetime) -> list[_S]:
        slots = self._slots.get(zone, {}).values()
        return sorted((s for s in slots if s.start < end and s.end > start), key=lambda s: s.start)


class InMemoryGateStore:
    """The 429 gates by (user, vendor), as the SQL store keeps them."""

    def __init__(self) -> None:
        self._gates: dict[tuple[str | None, str | None], RateGate] = {}

    async def save_gates(self, gates: Sequence[RateGate]) -> None:
        for gate in gates:
            key = (gate.user_id, gate.vendor)
            if gate.closed_until is None:
                self._gates.pop(key, None)
            else:
                self._gates[key] = gate

    async def load_gates(self) -> list[RateGate]:
        return list(self._gates.values())


class InMemoryLinkStateStore:
    """Link states by state; `take_link_state` removes them (one-time)."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[str, tuple[str, datetime]] = {}

    async def put_link_state(self, state: str, *, user_id: str, expires_at: datetime) -> None:
        now = self._clock.now()
        self._states = {s: v for s, v in self._states.items() if v[1] > now}
        self._states[state] = (user_id, expires_at)

    async def take_link_state(self, state: str) -> tuple[str, datetime] | None:
        return self._states.pop(state, None)


class InMemoryPriceSlotStore(_InMemorySlots[Slot]):
    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        return self._upsert(zone, slots)

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        return self._get(zone, start=start, end=end)


class InMemoryIntensitySlotStore(_InMemorySlots[IntensitySlot]):
    async def upsert_intensity(self, zone: str, slots: Sequence[IntensitySlot]) -> int:
        return self._upsert(zone, slots)

    async def get_intensity(
        self, zone: str, *, start: datetime, end: datetime
    ) -> list[IntensitySlot]:
        return self._get(zone, start=start, end=end)


class InMemoryShardStore:
    """Shard leases and heartbeats on the given clock (the SQL store uses database time)."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._leases: dict[int, ShardLease] = {}
        self._replicas: dict[str, ReplicaRecord] = {}

    async def heartbeat(self, holder: str, *, ttl_s: float, shards_owned: int, cars: int) -> None:
        now = self._clock.now()
        old = self._replicas.get(holder)
        started = old.started_at if old is not None and old.expires_at > now else now
        self._replicas[holder] = ReplicaRecord(
            holder, started, now, now + timedelta(seconds=ttl_s), shards_owned, cars
        )

    async def replicas(self, *, live_only: bool = True) -> list[ReplicaRecord]:
        now = self._clock.now()
        return [r for _, r in sorted(self._replicas.items()) if not live_only or r.expires_at > now]

    async def claim(
        self, holder: str, *, wanted: int, total: int, ttl_s: float
    ) -> list[ShardLease]:
        now = self._clock.now()
        expires_at = now + timedelta(seconds=ttl_s)
        for shard in range(total):
            self._leases.setdefault(shard, ShardLease(shard, None, 0, now))
        rows = [self._leases[shard] for shard in range(total)]
        mine = [r.shard for r in rows if r.holder == holder and r.expires_at > now]
        keep, surplus = mine[:wanted], mine[wanted:]
        free = [
            r for r in rows if r.shard not in mine and (r.holder is None or r.expires_at <= now)
        ]
        taken = [r.shard for r in free[: max(wanted - len(keep), 0)]]
        for shard in keep:
            self._leases[shard] = dataclasses.replace(self._leases[shard], expires_at=expires_at)
        await self.release(holder, surplus)
        for shard in taken:
            epoch = self._leases[shard].epoch + 1
            self._leases[shard] = ShardLease(shard, holder, epoch, expires_at)
        return [self._leases[shard] for shard in sorted(keep + taken)]

    async def release(self, holder: str, shards: Sequence[int] | None = None) -> None:
        now = self._clock.now()
        for shard in self._leases if shards is None else shards:
            lease = self._leases.get(shard)
            if lease is not None and lease.holder == holder:
                self._leases[shard] = ShardLease(shard, None, lease.epoch, now)
        replica = self._replicas.get(holder)
        if shards is None and replica is not None and replica.expires_at > now:
            self._replicas[holder] = dataclasses.replace(replica, expires_at=now, shards_owned=0)

    async def leases(self) -> list[ShardLease]:
        return [self._leases[shard] for shard in sorted(self._leases)]

    def fences(self, shard: int, epoch: int) -> bool:
        """Whether a command for `shard` carrying `epoch` may be recorded (the SQL store's rule:
        the shard's current epoch with a holder, or 0 for a shard never claimed)."""
        lease = self._leases.get(shard)
        if lease is None:
            return epoch == 0
        return lease.holder is not None and epoch == lease.epoch


class InMemoryCommandIntentStore:
    """Fenced by `shards` exactly like the SQL store (see store/intents.py)."""

    def __init__(self, *, clock: Clock, shards: InMemoryShardStore) -> None:
        self._clock = clock
        self._shards = shards
        self._intents: dict[str, CommandIntent] = {}
        self._ids = itertools.count(1)

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        wanted = set(vehicle_ids)
        flying = (IntentStatus.PENDING, IntentStatus.SENT)
        return {
            i.vehicle_id: i
            for i in sorted(self._intents.values(), key=lambda i: i.intent_id or 0)
            if i.vehicle_id in wanted and i.status in flying
        }

    async def record_sends(
        self, sends: Sequence[CommandIntent], *, at: datetime
    ) -> list[CommandIntent]:
        stale = sorted({i.shard for i in sends if not self._shards.fences(i.shard, i.epoch)})
        if stale:
            raise StaleEpoch(
                f"the epochs of shards {stale} are no longer current; nothing sent",
                shards=tuple(stale),
            )
        written = []
        for intent in sends:
            if intent.key in self._intents:
                continue
            stored = dataclasses.replace(
                intent, intent_id=next(self._ids), created_at=intent.created_at or at,
                status=IntentStatus.SENT, sent_at=at, attempts=1,
            )  # fmt: skip
            self._intents[intent.key] = stored
            written.append(stored)
        return written

    async def record_outcomes(
        self, verified: Sequence[str], failed: Mapping[str, str], *, at: datetime
    ) -> None:
        outcomes: list[tuple[str, IntentStatus, str | None]]
        outcomes = [(key, IntentStatus.VERIFIED, None) for key in verified]
        outcomes += [(key, IntentStatus.FAILED, error) for key, error in failed.items()]
        for key, status, error in outcomes:
            if key in self._intents:
                self._settle(key, status, error=error, at=at)

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None:
        if key not in self._intents:
            raise StoreError(f"no command intent with key {key!r}")
        self._settle(key, IntentStatus.FAILED, error=error, at=at)

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]:
        found = [
            i
            for i in self._intents.values()
            if i.vehicle_id == vehicle_id and i.created_at is not None and i.created_at >= since
        ]
        return sorted(found, key=lambda i: (i.created_at or since, i.intent_id or 0))

    def plant(self, intent: CommandIntent) -> CommandIntent:
        """Not part of the port: keep `intent` as given, like a row an older version left behind
        (e.g. still PENDING); production writes intents only through `record_sends`."""
        stored = dataclasses.replace(
            intent, intent_id=next(self._ids), created_at=intent.created_at or self._clock.now()
        )
        self._intents[intent.key] = stored
        return stored

    def _settle(self, key: str, status: IntentStatus, *, error: str | None, at: datetime) -> None:
        self._intents[key] = dataclasses.replace(
            self._intents[key], status=status, verified_at=at, error=error
        )


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


class InMemorySiteStore:
    """SiteStore over the shared tables, so deleting a user detaches their locations."""

    def __init__(self, tables: _Tables | None = None, *, clock: Clock) -> None:
        self._t = tables or _Tables()
        self._clock = clock

    async def put_site(self, name: str, *, max_kw: float) -> tuple[SiteRecord, bool]:
        check_site(name, max_kw)
        now = self._clock.now()
        old = self._t.sites.get(name)
        if old is None:
            site = SiteRecord(name, max_kw, created_at=now, updated_at=now)
        else:
            site = dataclasses.replace(old, max_kw=max_kw, updated_at=now)
        self._t.sites[name] = site
        return site, old is None

    async def get_site(self, name: str) -> SiteRecord | None:
        return self._t.sites.get(name)

    async def list_sites(self) -> list[SiteRecord]:
        return [self._t.sites[name] for name in sorted(self._t.sites)]

    async def delete_site(self, name: str) -> bool:
        return self._t.sites.pop(name, None) is not None

    async def attach_location(self, name: str, location: SiteLocation) -> SiteRecord:
        check_site_location(location)
        site = self._site(name)
        if location.user_id not in self._t.users:
            raise NotFound(f"user {location.user_id!r} is not known")
        for other in self._t.sites.values():
            if other.name != name and location in other.locations:
                raise LocationTaken(
                    user_id=location.user_id, location_id=location.location_id, site=other.name
                )
        locations = tuple(sorted({*site.locations, location}))
        return self._store(dataclasses.replace(site, locations=locations))

    async def detach_location(self, name: str, location: SiteLocation) -> bool:
        site = self._site(name)
        if location not in site.locations:
            return False
        kept = tuple(loc for loc in site.locations if loc != location)
        self._store(dataclasses.replace(site, locations=kept))
        return True

    def _site(self, name: str) -> SiteRecord:
        if name not in self._t.sites:
            raise NotFound(f"site {name!r} does not exist")
        return self._t.sites[name]

    def _store(self, site: SiteRecord) -> SiteRecord:
        self._t.sites[site.name] = dataclasses.replace(site, updated_at=self._clock.now())
        return self._t.sites[site.name]


class InMemoryOutboxStore:
    """OutboxStore twin: the same uniqueness on (event_id, target) and the same ordering."""

    def __init__(self) -> None:
        self._rows: dict[int, OutboxEntry] = {}
        self._keys: set[tuple[str, str]] = set()
        self._ids = itertools.count(1)

    async def enqueue(self, entries: Sequence[OutboxEntry]) -> int:
        new = 0
        for entry in entries:
            key = (entry.event.event_id, entry.target)
            if key in self._keys:
                continue
            self._keys.add(key)
            entry_id = next(self._ids)
            self._rows[entry_id] = dataclasses.replace(entry, entry_id=entry_id)
            new += 1
        return new

    async def due(self, now: datetime, *, limit: int) -> list[OutboxEntry]:
        found = [
            e
            for _, e in sorted(self._rows.items())
            if e.status is OutboxStatus.PENDING and e.next_attempt_at <= now
        ]
        return found[:limit]

    async def mark_delivered(self, entry_ids: Sequence[int], *, at: datetime) -> None:
        for i in entry_ids:
            if i in self._rows:
                self._rows[i] = dataclasses.replace(
                    self._rows[i], status=OutboxStatus.DELIVERED, delivered_at=at
                )

    async def mark_failed(
        self, entry_id: int, *, error: str, next_attempt_at: datetime, dead: bool = False
    ) -> None:
        old = self._rows.get(entry_id)
        if old is None:
            return
        self._rows[entry_id] = dataclasses.replace(
            old,
            attempts=old.attempts + 1,
            last_error=error[:500],
            next_attempt_at=next_attempt_at,
            status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING,
        )

    async def defer(self, entry_ids: Sequence[int], *, until: datetime) -> None:
        for i in entry_ids:
            if i in self._rows:
                self._rows[i] = dataclasses.replace(self._rows[i], next_attempt_at=until)

    async def entries(self, *, limit: int = 100) -> list[OutboxEntry]:
        return [e for _, e in sorted(self._rows.items(), reverse=True)][:limit]


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
    overrides: InMemoryOverrideStore
    gates: InMemoryGateStore
    link_states: InMemoryLinkStateStore
    chargers: InMemoryChargerStore
    outcomes: InMemoryOutcomeStore
    locations: InMemoryLocationStore
    sites: InMemorySiteStore
    shards: InMemoryShardStore
    intensity: InMemoryIntensitySlotStore = dataclasses.field(
        default_factory=InMemoryIntensitySlotStore
    )
    outbox: InMemoryOutboxStore = field(default_factory=InMemoryOutboxStore)

    @classmethod
    def create(cls, *, clock: Clock) -> InMemoryStore:
        tables = _Tables()
        users = InMemoryUserStore(tables)
        shards = InMemoryShardStore(clock=clock)
        return cls(
            users=users,
            tokens=users,
            vehicles=InMemoryVehicleStore(tables),
            plans=InMemoryPlanStore(tables, clock=clock),
            schedules=InMemoryScheduleStore(tables),
            prices=InMemoryPriceSlotStore(),
            intents=InMemoryCommandIntentStore(clock=clock, shards=shards),
            overrides=InMemoryOverrideStore(tables),
            gates=InMemoryGateStore(),
            link_states=InMemoryLinkStateStore(clock=clock),
            chargers=InMemoryChargerStore(tables),
            outcomes=InMemoryOutcomeStore(tables),
            locations=InMemoryLocationStore(tables),
            sites=InMemorySiteStore(tables, clock=clock),
            shards=shards,
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
        _intensity: IntensitySlotStore = store.intensity
        _overrides: OverrideStore = store.overrides
        _gates: GateStore = store.gates
        _link_states: LinkStateStore = store.link_states
        _chargers: ChargerStore = store.chargers
        _locations: LocationStore = store.locations
        _sites: SiteStore = store.sites
        _outbox: OutboxStore = store.outbox
        _outcomes: OutcomeStore = store.outcomes
        _shards: ShardStore = store.shards


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


# Enode charging locations twin -----------------------------------------------------------------


class InMemoryEnodeLocations:
    """A bare `ports.EnodeLocations`: users' locations at "Enode", and the cars' positions."""

    def __init__(self) -> None:
        self.locations: dict[str, ChargingLocation] = {}
        self.positions: dict[str, tuple[float, float]] = {}
        self._ids = itertools.count(1)

    async def list_locations(self, user_id: str) -> list[ChargingLocation]:
        return [loc for loc in self.locations.values() if loc.user_id == user_id]

    async def create_location(
        self, user_id: str, *, name: str, latitude: float, longitude: float
    ) -> ChargingLocation:
        made = ChargingLocation(f"loc-{next(self._ids)}", user_id, name, latitude, longitude)
        self.locations[made.location_id] = made
        return made

    async def delete_location(self, user_id: str, location_id: str) -> None:
        found = self.locations.get(location_id)
        if found is None or found.user_id != user_id:
            raise EnodeNotFound(f"no charging location {location_id}", status=404)
        del self.locations[location_id]

    async def vehicle_position(self, user_id: str, vehicle_id: str) -> tuple[float, float] | None:
        return self.positions.get(vehicle_id)


if TYPE_CHECKING:

    def _implements_enode_locations(twin: InMemoryEnodeLocations) -> None:
        _locations: EnodeLocations = twin
