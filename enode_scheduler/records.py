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
class ChargerReading:
    """One reading of a charger (wallbox) through Enode; None where Enode did not say.

    `energy_kwh` is a meter: the energy the charger delivered since we first saw it, Enode's
    counter where the vendor gives one, else integrated by us from `charge_rate_kw` readings.
    """

    charger_id: str
    user_id: str
    vendor: str | None
    last_seen: datetime | None
    is_reachable: bool | None
    is_plugged_in: bool | None
    is_charging: bool | None
    charge_rate_kw: float | None
    brand: str | None = None
    model: str | None = None
    energy_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class EnergyBaseline:
    """Where a charger-only plan's energy count starts: the meter at the start of its cycle."""

    charger_id: str
    deadline: datetime
    start_kwh: float


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


class PlanTarget(StrEnum):
    """What a plan's START/STOP goes to: the car itself, or a charger (wallbox)."""

    VEHICLE = "vehicle"
    CHARGER = "charger"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A charge goal for one vehicle: one-off (`deadline`) or repeating (`weekdays` + `local_time`).

    Exactly one of `deadline` and (`weekdays`, `local_time`) is set. With `charger_id` the
    commands go to that charger: `vehicle_id` is then the car whose SoC is the target, or, for a
    charger-only plan (`energy_kwh` set), the charger itself, whose goal is energy delivered.
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
    charger_id: str | None = None
    energy_kwh: float | None = None

    @property
    def repeating(self) -> bool:
        return self.deadline is None

    @property
    def target(self) -> PlanTarget:
        return PlanTarget.VEHICLE if self.charger_id is None else PlanTarget.CHARGER

    @property
    def energy_only(self) -> bool:
        """A charger-only plan: no SoC is known, the goal is `energy_kwh` delivered."""
        return self.energy_kwh is not None


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    vehicle_id: str
    schedule: Schedule
    deadline: datetime
    computed_at: datetime


class IntentStatus(StrEnum):
    PENDING = "pending"  # written, not yet sent: left only by versions before `record_sends`
    SENT = "sent"  # sent, waiting for the state to confirm it
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CommandIntent:
    """A start/stop command, written (as sent, fenced) before it is sent.

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
