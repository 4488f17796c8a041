"""The interfaces the core depends on, and the plain records that cross them.

Each port has at least one real adapter and an in-memory twin in `testing.py`. Records are frozen
dataclasses with aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.planner.models import Schedule, Slot

__all__ = [
    "ChargeAction",
    "Clock",
    "CommandIntent",
    "CommandIntentStore",
    "EnodeApi",
    "IntentStatus",
    "Lease",
    "LeaseStore",
    "PlanRecord",
    "PlanStatus",
    "PlanStore",
    "PriceSlotStore",
    "PriceSource",
    "ScheduleRecord",
    "ScheduleStore",
    "TokenStore",
    "UserRecord",
    "UserStore",
    "UserTokens",
    "VehicleReading",
    "VehicleStore",
]


class ChargeAction(StrEnum):
    START = "START"
    STOP = "STOP"


@dataclass(frozen=True, slots=True)
class VehicleReading:
    """One reading of a vehicle's state through Enode; None where Enode did not say."""

    vehicle_id: str
    user_id: str
    vendor: str | None
    last_seen: datetime | None
    is_reachable: bool | None
    soc_percent: float | None
    is_plugged_in: bool | None
    is_charging: bool | None
    charge_rate_kw: float | None
    battery_capacity_kwh: float | None
    charge_limit_percent: float | None
    charging_reasons: tuple[str, ...] = ()
    charging_location_id: str | None = None
    smart_charging_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class UserTokens:
    """A user's Enode OAuth tokens, in clear text (encrypted only at rest, by the store)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime

    def __repr__(self) -> str:
        return f"UserTokens(expires_at={self.expires_at.isoformat()}, ...)"


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


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One of our users; `user_id` is ours and is also the user id we give Enode."""

    user_id: str
    timezone: str = "UTC"
    needs_relink: bool = False
    relink_reason: str | None = None
    linked: bool = False


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


class PlanStatus(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A charge goal for one vehicle: one-off (`deadline`) or repeating (`weekdays` + `local_time`).

    Exactly one of `deadline` and (`weekdays`, `local_time`) is set.
    """

    vehicle_id: str
    user_id: str
    target_soc_percent: float
    timezone: str = "UTC"
    deadline: datetime | None = None
    weekdays: frozenset[int] = frozenset()  # 0 = Monday
    local_time: time | None = None
    min_soc_percent: float = 0.0
    start_penalty: float = 0.0
    enabled: bool = True
    status: PlanStatus = PlanStatus.ACTIVE
    status_reason: str | None = None
    plan_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def repeating(self) -> bool:
        return self.deadline is None


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


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    vehicle_id: str
    schedule: Schedule
    deadline: datetime
    computed_at: datetime


class ScheduleStore(Protocol):
    async def save_schedule(self, record: ScheduleRecord) -> None:
        """Replace the vehicle's current schedule."""
        ...

    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        """Replace the current schedule of each vehicle, in one transaction."""
        ...

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None: ...

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]: ...


class IntentStatus(StrEnum):
    PENDING = "pending"  # written, not yet sent
    SENT = "sent"  # sent, waiting for the state to confirm it
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CommandIntent:
    """A start/stop command we mean to send, written before it is sent.

    `key` is unique: the same key is never sent twice, so a crash between writing and sending
    is repaired by reconciling, not by re-sending blindly.
    """

    key: str
    vehicle_id: str
    user_id: str
    action: ChargeAction
    reason: str
    epoch: int
    status: IntentStatus = IntentStatus.PENDING
    attempts: int = 0
    created_at: datetime | None = None
    sent_at: datetime | None = None
    verified_at: datetime | None = None
    error: str | None = None
    intent_id: int | None = None


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


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    epoch: int
    expires_at: datetime


class LeaseStore(Protocol):
    """Leader election on database time; each new holder gets a higher fencing epoch."""

    async def acquire(self, name: str, *, holder: str, ttl_s: float) -> Lease | None:
        """Take the lease if free or expired (epoch + 1), renew it if held by `holder`."""
        ...

    async def release(self, lease: Lease) -> None: ...

    async def current(self, name: str) -> Lease | None: ...
