"""The interfaces the core depends on: Protocols only; the records that cross them are in `records`.

Each store port has a SQL adapter (`store/`) and an in-memory twin (`testing.py`) that pass the same
contract tests (tests/integration/store/). `EnodeApi` is served by `enode/` (the sim server and
tests/fakes.FakeEnode stand in for Enode); `PriceSource` by `prices/` and `testing`'s twin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.records import (
    ChargeAction,
    ChargerReading,
    ChargingLocation,
    CommandIntent,
    EnergyBaseline,
    OutboxEntry,
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
)

__all__ = [
    "ChargerStore",
    "Clock",
    "CommandIntentStore",
    "EnodeApi",
    "EnodeLocations",
    "GateStore",
    "IntensitySlotStore",
    "IntensitySource",
    "LinkStateStore",
    "LocationStore",
    "OutboxStore",
    "OutcomeStore",
    "OverrideStore",
    "PlanStore",
    "PriceSlotStore",
    "PriceSource",
    "ScheduleStore",
    "ShardStore",
    "SiteStore",
    "TokenStore",
    "UserStore",
    "VehicleStore",
]


class EnodeApi(Protocol):
    """What the daemon asks of Enode for one user's vehicles. Errors: `EnodeError` subclasses."""

    async def list_vehicles(self, user_id: str) -> list[VehicleReading]:
        """Every vehicle the user linked, with charge state (a read: safe to retry)."""
        ...

    async def get_vehicle(self, user_id: str, vehicle_id: str) -> VehicleReading:
        """One vehicle with charge state and smart-charging policy; raises EnodeNotFound if gone."""
        ...

    async def set_charging(
        self, user_id: str, vehicle_id: str, action: ChargeAction, *, vendor: str | None = None
    ) -> None:
        """Send START or STOP at most once, never retried blindly (re-read the state to verify)."""
        ...

    async def check_link(self, user_id: str) -> None:
        """GET /me: raise NeedsRelink (the user marked in the store) when a linked vendor is no
        longer valid (`isValid: false`)."""

    async def list_chargers(self, user_id: str) -> list[ChargerReading]:
        """Every charger the user linked, with charge state (a read: safe to retry)."""
        ...

    async def get_charger(self, user_id: str, charger_id: str) -> ChargerReading:
        """One charger with charge state; raises EnodeNotFound if gone."""
        ...

    async def set_charger_charging(
        self, user_id: str, charger_id: str, action: ChargeAction, *, vendor: str | None = None
    ) -> None:
        """Send START or STOP to a charger at most once, never retried blindly."""
        ...


class EnodeLocations(Protocol):
    """A user's charging locations at Enode, for the CLI and the API. Errors: `EnodeError`s."""

    async def list_locations(self, user_id: str) -> list[ChargingLocation]:
        """Every charging location the user has at Enode."""
        ...

    async def create_location(
        self, user_id: str, *, name: str, latitude: float, longitude: float
    ) -> ChargingLocation:
        """Create a charging location at Enode; returns it with the id Enode gave it."""
        ...

    async def delete_location(self, user_id: str, location_id: str) -> None:
        """Delete a charging location at Enode (EnodeNotFound when there is none)."""
        ...

    async def vehicle_position(self, user_id: str, vehicle_id: str) -> tuple[float, float] | None:
        """The car's (latitude, longitude) as its vendor reports it; None when it does not."""
        ...


class TokenStore(Protocol):
    """Where per-user Enode tokens live between runs (encrypted at rest)."""

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        """The user's decrypted tokens; None when the user never linked (or is unknown)."""
        ...

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        """Replace the user's tokens (creating the user) and clear `needs_relink`; idempotent."""
        ...

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        """Flag the user (creating it) as having to link again, with why; tokens are kept."""
        ...


class PriceSource(Protocol):
    """Day-ahead prices for a bidding zone. Errors: `PriceError` subclasses."""

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        """Sorted, gap-free UTC slots of [start, end) as published, raw spot price per kWh."""
        ...


class PriceSlotStore(Protocol):
    """The cache of price slots per zone."""

    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        """Insert or replace slots by (zone, UTC start), atomic; return how many new or changed."""
        ...

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        """Stored slots overlapping [start, end), sorted by start, with aware UTC times."""
        ...


class IntensitySource(Protocol):
    """Grid carbon intensity for the configured region. Errors: `PriceError` subclasses."""

    async def fetch(self, *, start: datetime, end: datetime) -> list[IntensitySlot]:
        """Sorted, non-overlapping UTC slots in gCO2eq/kWh over as much of [start, end) as the
        source knows (a forecast for the future, actual values where settled)."""
        ...


class IntensitySlotStore(Protocol):
    """The cache of carbon-intensity slots per region (`zone` is the source's region name)."""

    async def upsert_intensity(self, zone: str, slots: Sequence[IntensitySlot]) -> int:
        """Insert or replace slots by (zone, start); return how many were new or changed."""
        ...

    async def get_intensity(
        self, zone: str, *, start: datetime, end: datetime
    ) -> list[IntensitySlot]:
        """Stored slots overlapping [start, end), sorted by start."""
        ...


class UserStore(Protocol):
    """Users; `linked` on a record is derived from whether tokens are stored."""

    async def upsert_user(self, user: UserRecord) -> UserRecord:
        """Create the user, or update only its time zone; idempotent; return what is stored."""
        ...

    async def get_user(self, user_id: str) -> UserRecord | None:
        """The stored user; None when unknown."""
        ...

    async def list_users(self) -> list[UserRecord]:
        """Every user, sorted by user id."""
        ...

    async def delete_user(self, user_id: str) -> bool:
        """Atomically remove the user with everything of theirs; False when the user is unknown."""
        ...


class VehicleStore(Protocol):
    """The latest reading per vehicle."""

    async def save_readings(self, readings: Sequence[VehicleReading]) -> None:
        """Store readings in one transaction, creating vehicles and users; older ones never win."""
        ...

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        """The latest reading per known vehicle; all vehicles when `vehicle_ids` is None."""
        ...

    async def list_vehicle_ids(self, user_id: str | None = None) -> list[str]:
        """Sorted ids of the user's vehicles (every vehicle when `user_id` is None)."""
        ...


class ChargerStore(Protocol):
    """The latest reading per charger, and the energy baselines of charger-only plans."""

    async def save_charger_readings(self, readings: Sequence[ChargerReading]) -> None:
        """Store readings in one transaction, creating chargers and users; older ones never win."""
        ...

    async def latest_charger_readings(
        self, charger_ids: Sequence[str] | None = None
    ) -> dict[str, ChargerReading]:
        """The latest reading per known charger; all chargers when `charger_ids` is None."""
        ...

    async def list_charger_ids(self, user_id: str | None = None) -> list[str]:
        """Sorted ids of the user's chargers (every charger when `user_id` is None)."""
        ...

    async def set_energy_baseline(self, baseline: EnergyBaseline) -> None:
        """Replace the charger's baseline (the charger must be stored already)."""
        ...

    async def get_energy_baselines(self, charger_ids: Sequence[str]) -> dict[str, EnergyBaseline]:
        """The stored baseline per given charger that has one."""
        ...


class PlanStore(Protocol):
    """One charge plan per vehicle; `updated_at` changes only when the plan is edited."""

    async def put_plan(self, plan: PlanRecord) -> PlanRecord:
        """Create or replace the vehicle's plan, keeping plan_id and created_at; sets updated_at."""
        ...

    async def get_plan(self, vehicle_id: str) -> PlanRecord | None:
        """The vehicle's plan; None when it has none."""
        ...

    async def list_plans(self, *, enabled_only: bool = False) -> list[PlanRecord]:
        """Every plan (only enabled ones if asked), sorted by vehicle id."""
        ...

    async def delete_plan(self, vehicle_id: str) -> bool:
        """Remove the vehicle's plan; False when there was none."""
        ...

    async def set_plan_status(
        self, vehicle_id: str, status: PlanStatus, *, reason: str | None = None
    ) -> None:
        """Set status and reason, leaving updated_at alone (not an edit); no-op without a plan."""
        ...

    async def set_presences(self, presences: Mapping[str, Presence]) -> None:
        """Record where each planned car is (vehicle id -> presence); not an edit of the plan."""
        ...


class LocationStore(Protocol):
    """Our copy of each user's charging locations at Enode."""

    async def replace_locations(self, user_id: str, locations: Sequence[ChargingLocation]) -> None:
        """Make the user's stored locations exactly `locations` (after listing them at Enode)."""
        ...

    async def put_location(self, location: ChargingLocation) -> None:
        """Insert or replace one location by id."""
        ...

    async def delete_location(self, location_id: str) -> bool:
        """Remove one location; False when it was not stored."""
        ...

    async def list_locations(self, user_id: str) -> list[ChargingLocation]:
        """The user's stored locations, by name."""
        ...


class ScheduleStore(Protocol):
    """The current schedule per vehicle."""

    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        """Replace each vehicle's schedule in one transaction; a later record for one car wins."""
        ...

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        """The vehicle's current schedule; None when it has none."""
        ...

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        """The current schedule of each given vehicle that has one."""
        ...


class CommandIntentStore(Protocol):
    """Start/stop commands, written before they go out; a key is never written twice."""

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        """The newest pending or sent (not yet settled) intent per given vehicle."""
        ...

    async def record_sends(
        self, sends: Sequence[CommandIntent], *, at: datetime
    ) -> list[CommandIntent]:
        """Fenced, atomic: write intents as sent; skip known keys; StaleEpoch if any is stale.

        Returns the intents written, the only ones that may be sent. Each intent's `epoch` must
        be the current epoch of its `shard`'s lease (held by someone), or 0 while that shard was
        never claimed; otherwise StaleEpoch (naming the stale shards) is raised and nothing is
        written.
        """
        ...

    async def record_outcomes(
        self, verified: Sequence[str], failed: Mapping[str, str], *, at: datetime
    ) -> None:
        """Mark intents verified, others failed (key -> error), atomically; unknown keys ignored."""
        ...

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None:
        """Mark one intent failed with `error` (a refused send); StoreError for an unknown key."""
        ...

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]:
        """The vehicle's intents created at or after `since`, oldest first."""
        ...


class ShardStore(Protocol):
    """Replica heartbeats and per-shard leases on database time; each new holder of a shard gets
    a higher fencing epoch for it."""

    async def heartbeat(self, holder: str, *, ttl_s: float, shards_owned: int, cars: int) -> None:
        """Register `holder` (or refresh it) as live for `ttl_s`, with what it owns now."""
        ...

    async def replicas(self, *, live_only: bool = True) -> list[ReplicaRecord]:
        """Registered replicas sorted by holder; by default only those whose heartbeat is live."""
        ...

    async def claim(
        self, holder: str, *, wanted: int, total: int, ttl_s: float
    ) -> list[ShardLease]:
        """Atomically: renew `holder`'s unexpired leases among shards 0..total-1 up to `wanted`,
        release the surplus, and take free or expired shards (epoch + 1) until it holds `wanted`;
        never an unexpired shard of another holder. Returns the holder's leases after, by shard.
        """
        ...

    async def release(self, holder: str, shards: Sequence[int] | None = None) -> None:
        """Free the given shards (None: all, and the replica leaves the live list) if `holder`
        holds them, keeping their epochs; idempotent."""
        ...

    async def leases(self) -> list[ShardLease]:
        """Every shard row (held, free or expired), by shard."""
        ...


class LinkStateStore(Protocol):
    """OAuth link states: one-time, expiring, bound to a user, shared by every replica."""

    async def put_link_state(self, state: str, *, user_id: str, expires_at: datetime) -> None:
        """Remember a state issued for `user_id` (and drop states that expired)."""
        ...

    async def take_link_state(self, state: str) -> tuple[str, datetime] | None:
        """Remove the state and return (user_id, expires_at); None when unknown or used."""
        ...


class GateStore(Protocol):
    """The 429 cooldown gates, so that a restart does not send into a gate a vendor closed."""

    async def save_gates(self, gates: Sequence[RateGate]) -> None:
        """Upsert each gate by (user, vendor); a gate with `closed_until` None is removed."""
        ...

    async def load_gates(self) -> list[RateGate]:
        """Every stored gate (closed or reopened but not yet reset)."""
        ...


class OutcomeStore(Protocol):
    """The latest deadline's outcome per vehicle; removed with the vehicle's plan."""

    async def record_outcome(self, outcome: PlanOutcome) -> None:
        """Store the outcome, replacing the vehicle's previous one."""
        ...

    async def get_outcomes(self, vehicle_ids: Sequence[str]) -> dict[str, PlanOutcome]: ...


class OverrideStore(Protocol):
    """At most one override per vehicle; a new one replaces the old."""

    async def put_override(self, record: OverrideRecord) -> None:
        """Store the vehicle's override, replacing any earlier one."""
        ...

    async def get_override(self, vehicle_id: str) -> OverrideRecord | None:
        """The vehicle's stored override (ended or not); None when it has none."""
        ...

    async def clear_override(self, vehicle_id: str) -> bool:
        """Remove the vehicle's override; False when there was none."""
        ...

    async def get_overrides(self, vehicle_ids: Sequence[str]) -> dict[str, OverrideRecord]:
        """The stored override per given vehicle that has one (ended ones included)."""
        ...


class SiteStore(Protocol):
    """Sites: named groups of charging locations under one power cap. A (user, location) pair
    belongs to at most one site; deleting a user detaches their locations, deleting a site
    detaches all of its own. Bad names, caps or ids raise InvalidInput naming the value; a
    method that raises has written nothing."""

    async def put_site(self, name: str, *, max_kw: float) -> tuple[SiteRecord, bool]:
        """Create the site, or set the cap of an existing one; the stored site, True if created."""
        ...

    async def get_site(self, name: str) -> SiteRecord | None:
        """The site with its sorted locations; None when there is no such site."""
        ...

    async def list_sites(self) -> list[SiteRecord]:
        """Every site with its locations, sorted by name."""
        ...

    async def delete_site(self, name: str) -> bool:
        """Remove the site and detach its locations; False when there was no such site."""
        ...

    async def attach_location(self, name: str, location: SiteLocation) -> SiteRecord:
        """Add the location; NotFound: unknown site/user; Conflict: in another site; idempotent."""
        ...

    async def detach_location(self, name: str, location: SiteLocation) -> bool:
        """Take the location out; False when it was not in the site; NotFound: unknown site."""
        ...


class OutboxStore(Protocol):
    """The notification outbox: events are written here first and delivered from here, so a
    crash between an event and its delivery loses nothing. Unique per (event_id, target)."""

    async def enqueue(self, entries: Sequence[OutboxEntry]) -> int:
        """Insert the entries, skipping any whose (event_id, target) exists; return how many
        were new."""
        ...

    async def due(self, now: datetime, *, limit: int) -> list[OutboxEntry]:
        """Pending entries whose next attempt is at or before `now`, oldest first."""
        ...

    async def mark_delivered(self, entry_ids: Sequence[int], *, at: datetime) -> None: ...

    async def mark_failed(
        self, entry_id: int, *, error: str, next_attempt_at: datetime, dead: bool = False
    ) -> None:
        """Count a failed attempt; retry at `next_attempt_at`, or never again when `dead`."""
        ...

    async def defer(self, entry_ids: Sequence[int], *, until: datetime) -> None:
        """Move the next attempt later without counting an attempt (a rate limit)."""
        ...

    async def entries(self, *, limit: int = 100) -> list[OutboxEntry]:
        """The most recent entries, newest first (for operators and tests)."""
        ...
