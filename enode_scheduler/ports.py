"""The interfaces the core depends on, and the plain records that cross them.

Each port has at least one real adapter and an in-memory twin in `testing.py`. Records are frozen
dataclasses with aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.planner.models import Slot

__all__ = [
    "ChargeAction",
    "Clock",
    "EnodeApi",
    "PriceSlotStore",
    "PriceSource",
    "TokenStore",
    "UserTokens",
    "VehicleReading",
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
