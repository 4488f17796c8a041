"""The plain records that cross the ports: frozen dataclasses and enums, aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from enode_scheduler.planner.models import Schedule


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


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One of our users; `user_id` is ours and is also the user id we give Enode."""

    user_id: str
    timezone: str = "UTC"
    needs_relink: bool = False
    relink_reason: str | None = None
    linked: bool = False


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


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    vehicle_id: str
    schedule: Schedule
    deadline: datetime
    computed_at: datetime


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


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    epoch: int
    expires_at: datetime


class OverrideKind(StrEnum):
    CHARGE_NOW = "charge_now"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """One vehicle's override: `charge_now` until a time and/or SoC, or `pause` until a time."""

    vehicle_id: str
    kind: OverrideKind
    created_at: datetime
    until: datetime | None = None
    until_soc_percent: float | None = None

    def ended(self, *, now: datetime, soc_percent: float | None) -> bool:
        """Whether the override no longer applies (its time passed or its SoC was reached)."""
        if self.until is not None and now >= self.until:
            return True
        return (
            self.kind is OverrideKind.CHARGE_NOW
            and self.until_soc_percent is not None
            and soc_percent is not None
            and soc_percent >= self.until_soc_percent
        )


class OutcomeKind(StrEnum):
    """How a plan's deadline went."""

    MET = "met"
    MISSED = "missed"
    CAPPED = "capped"  # the car's own charge limit stopped it below the target
    INFEASIBLE = "infeasible"  # the schedule could not reach the target in time


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """What a plan achieved at one deadline (the latest is kept per vehicle)."""

    vehicle_id: str
    deadline: datetime
    kind: OutcomeKind
    target_soc_percent: float
    soc_percent: float | None  # the car's SoC at the deadline; None when it was never read
    limit_percent: float | None = None  # the car's own charge limit, when it reported one
    recorded_at: datetime | None = None

    @property
    def shortfall_percent(self) -> float | None:
        if self.soc_percent is None:
            return None
        return max(0.0, self.target_soc_percent - self.soc_percent)

    def describe(self) -> str:
        """`met`, `missed by 9 %`, `capped by the car's limit at 80 %`, `infeasible: ...`."""
        if self.kind is OutcomeKind.MET:
            return "met"
        if self.kind is OutcomeKind.CAPPED:
            return f"capped by the car's limit at {self.limit_percent or 0:g} %"
        if self.kind is OutcomeKind.INFEASIBLE:
            return "infeasible: plugged in too late" + _reached(self.soc_percent)
        short = self.shortfall_percent
        return "missed (SoC unknown)" if short is None else f"missed by {short:.0f} %"


def _reached(soc_percent: float | None) -> str:
    return "" if soc_percent is None else f" (reached {soc_percent:.0f} %)"
