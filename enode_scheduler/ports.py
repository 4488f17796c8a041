"""The interfaces the core depends on: Protocols only; the records that cross them are in `records`.

Each port has at least one real adapter (`store/`, `enode/`, `prices/`) and an in-memory twin in
`testing.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.planner.models import Slot
from enode_scheduler.records import (
    ChargeAction,
    CommandIntent,
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
    "Clock",
    "CommandIntentStore",
    "EnodeApi",
    "LeaseStore",
    "OutcomeStore",
    "OverrideStore",
    "PlanStore",
    "PriceSlotStore",
    "PriceSource",
    "ScheduleStore",
    "TokenStore",
    "UserStore",
    "VehicleStore",
]


class EnodeApi(Protocol):
    """What the daemon asks of Enode for one user's vehicles. Errors: `EnodeError` subclasses."""

    async def list_vehicles(self, user_id: str) -> list[VehicleReading]:
        """Every vehicle the user linked, with charge state."""
        ...

    async def get_vehicle(self, user_id: str, vehicle_id: str) -> VehicleReading:
        """One vehicle with charge state and smart-charging policy."""
        ...

    async def set_charging(
        self, user_id: str, vehicle_id: str, action: ChargeAction, *, vendor: str | None = None
    ) -> None:
        """Send START or STOP once; never retried blindly (re-read the state to verify)."""
        ...


class TokenStore(Protocol):
    """Where per-user Enode tokens live between runs (encrypted at rest)."""

    async def get_tokens(self, user_id: str) -> UserTokens | None: ...

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None: ...

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None: ...


class PriceSource(Protocol):
    """Day-ahead prices for a bidding zone. Errors: `PriceError` subclasses."""

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        """Sorted, gap-free UTC slots covering as much of [start, end) as is published.

        Prices are the raw spot price in currency per kWh; the tariff is applied afterwards.
        """
        ...


class PriceSlotStore(Protocol):
    """The cache of price slots per zone."""

    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        """Insert or replace slots by (zone, start); return how many were new or changed."""
        ...

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        """Stored slots overlapping [start, end), sorted by start."""
        ...


class UserStore(Protocol):
    async def upsert_user(self, user: UserRecord) -> UserRecord: ...

    async def get_user(self, user_id: str) -> UserRecord | None: ...

    async def list_users(self) -> list[UserRecord]: ...

    async def delete_user(self, user_id: str) -> bool:
        """Remove the user, their tokens, vehicles, plans and schedules; False if unknown."""
        ...


class VehicleStore(Protocol):
    async def save_readings(self, readings: Sequence[VehicleReading]) -> None:
        """Store the latest reading per vehicle (creating vehicles on first sight), in one batch."""
        ...

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        """The latest reading per vehicle; all vehicles when `vehicle_ids` is None."""
        ...

    async def list_vehicle_ids(self, user_id: str | None = None) -> list[str]: ...


class PlanStore(Protocol):
    async def put_plan(self, plan: PlanRecord) -> PlanRecord:
        """Create or replace the vehicle's one plan; sets plan_id and timestamps."""
        ...

    async def get_plan(self, vehicle_id: str) -> PlanRecord | None: ...

    async def list_plans(self, *, enabled_only: bool = False) -> list[PlanRecord]: ...

    async def delete_plan(self, vehicle_id: str) -> bool: ...

    async def set_plan_status(
        self, vehicle_id: str, status: PlanStatus, *, reason: str | None = None
    ) -> None: ...

    async def plans_changed_since(self, since: datetime) -> list[PlanRecord]:
        """Plans created or updated after `since` (the daemon's cheap change detection)."""
        ...


class ScheduleStore(Protocol):
    async def save_schedule(self, record: ScheduleRecord) -> None:
        """Replace the vehicle's current schedule."""
        ...

    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        """Replace the current schedule of each vehicle, in one transaction."""
        ...

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None: ...

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]: ...


class CommandIntentStore(Protocol):
    async def create_intent(self, intent: CommandIntent) -> CommandIntent | None:
        """Insert; None when an intent with this key already exists (nothing written)."""
        ...

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        """The pending or sent intent per vehicle, if any."""
        ...

    async def mark_sent(self, key: str, *, epoch: int, at: datetime) -> None:
        """Record a send; raises StaleEpoch when `epoch` is not the current leader's."""
        ...

    async def record_sends(
        self, sends: Sequence[CommandIntent], *, epoch: int, at: datetime
    ) -> list[CommandIntent]:
        """Write intents as sent by `epoch`, all in one fenced transaction, before they go out.

        Returns those written; a key that exists already is skipped (never sent twice). Raises
        StaleEpoch, writing nothing, when `epoch` is not the current leader's.
        """
        ...

    async def mark_verified(self, key: str, *, at: datetime) -> None: ...

    async def record_outcomes(
        self, verified: Sequence[str], failed: Mapping[str, str], *, at: datetime
    ) -> None:
        """Mark many intents verified, and others failed (key -> error), in one transaction.

        Unknown keys are ignored: the outcome belongs to an intent that no longer exists.
        """
        ...

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None: ...

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]: ...


class LeaseStore(Protocol):
    """Leader election on database time; each new holder gets a higher fencing epoch."""

    async def acquire(self, name: str, *, holder: str, ttl_s: float) -> Lease | None:
        """Take the lease if free or expired (epoch + 1), renew it if held by `holder`."""
        ...

    async def release(self, lease: Lease) -> None: ...

    async def current(self, name: str) -> Lease | None: ...


class OutcomeStore(Protocol):
    """The latest deadline's outcome per vehicle; removed with the vehicle's plan."""

    async def record_outcome(self, outcome: PlanOutcome) -> None:
        """Store the outcome, replacing the vehicle's previous one."""
        ...

    async def get_outcomes(self, vehicle_ids: Sequence[str]) -> dict[str, PlanOutcome]: ...


class OverrideStore(Protocol):
    """At most one override per vehicle; a new one replaces the old."""

    async def put_override(self, record: OverrideRecord) -> None: ...

    async def get_override(self, vehicle_id: str) -> OverrideRecord | None: ...

    async def clear_override(self, vehicle_id: str) -> bool:
        """Remove the vehicle's override; False when there was none."""
        ...

    async def get_overrides(self, vehicle_ids: Sequence[str]) -> dict[str, OverrideRecord]:
        """The stored override per vehicle (ended ones included; see `OverrideRecord.ended`)."""
        ...
