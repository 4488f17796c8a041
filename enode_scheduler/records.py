"""The plain records that cross the ports: frozen dataclasses and enums, aware UTC datetimes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from enode_scheduler.exceptions import InvalidInput
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
    # Whether the vendor told us where the car is (a position); with no charging location id,
    # True means "at no charging location", None/False means "we cannot tell".
    position_known: bool | None = None


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

    @property
    def status(self) -> UserStatus:
        """What the CLI, the API and the web page show for the user."""
        if self.needs_relink:
            return UserStatus.RELINK_REQUIRED
        return UserStatus.LINKED if self.linked else UserStatus.NOT_LINKED


class UserStatus(StrEnum):
    LINKED = "linked"
    NOT_LINKED = "not_linked"  # never linked, or unlinked
    RELINK_REQUIRED = "relink_required"  # Enode refused the tokens: the user must link again


class PlanTarget(StrEnum):
    """What a plan's START/STOP goes to: the car itself, or a charger (wallbox)."""

    VEHICLE = "vehicle"
    CHARGER = "charger"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    DONE = "done"


class Presence(StrEnum):
    """Where a planned car is, seen from its plan; only `at_location` is controlled by default."""

    AT_LOCATION = "at_location"  # at the plan's charging location
    AWAY = "away"  # somewhere else: another charging location, or none
    LOCATION_UNKNOWN = "location_unknown"  # the vendor does not say where the car is
    NO_LOCATION = "no_location"  # the plan names no charging location yet


@dataclass(frozen=True, slots=True)
class ChargingLocation:
    """One of a user's charging locations at Enode (the places where a plan may act)."""

    location_id: str
    user_id: str
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


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
    # Money per kg CO2 for this plan (`plans add --co2-weight`); None: `[co2] price_per_kg`.
    co2_price_per_kg: float | None = None
    enabled: bool = True
    status: PlanStatus = PlanStatus.ACTIVE
    status_reason: str | None = None
    plan_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    charger_id: str | None = None
    energy_kwh: float | None = None
    # The charging location where the plan applies; None: the car is not controlled.
    location_id: str | None = None
    # The daemon's last verdict on where the car is (written by the daemon, not by edits).
    presence: Presence | None = None

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

    @property
    def shown_status(self) -> str:
        """The status an operator sees: why an active plan is not acting, else the plan status."""
        if self.status is not PlanStatus.ACTIVE:
            return self.status.value
        if self.location_id is None:
            return Presence.NO_LOCATION.value
        if self.presence in (Presence.AWAY, Presence.LOCATION_UNKNOWN):
            return self.presence.value
        return self.status.value


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
    # The shard of `user_id`; `epoch` is that shard's fencing epoch.
    shard: int = 0


@dataclass(frozen=True, slots=True)
class ShardLease:
    """A shard's lease; `holder` is None for a shard released or never taken."""

    shard: int
    holder: str | None
    epoch: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    """A replica's last heartbeat (database time) and what it reported owning then."""

    holder: str
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    shards_owned: int
    cars: int


class CarStatus(StrEnum):
    """How the daemon is getting on with one planned car (the web page, metrics and CLI show it).

    Anything but OK is that car's (or its user's) own problem: the rest of the fleet goes on.
    """

    OK = "ok"
    RELINK_REQUIRED = "relink_required"  # Enode refused the user's tokens: link again
    ERROR = "error"  # something unexpected for this car or user; `reason` says what
    VENDOR_OUTAGE = "vendor_outage"  # /health/vendors says OUTAGE: no request until READY


@dataclass(frozen=True, slots=True)
class CarHealth:
    """One car's status, as `Reconciler.health()` reports it; `since` is when it began."""

    vehicle_id: str
    user_id: str
    status: CarStatus
    reason: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class RateGate:
    """A (user, vendor) cooldown gate after a 429; None means "any" (see enode/backoff.py).

    `closed_until` None: the gate is open again and its backoff reset (the row can go).
    """

    user_id: str | None
    vendor: str | None
    closed_until: datetime | None
    consecutive_429: int = 0


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


# Site names travel in URL paths (/v1/sites/{name}): letters, digits and a few separators.
SITE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
# The width of the id columns (users.user_id, site_locations.location_id).
MAX_ID_LENGTH = 128


@dataclass(frozen=True, slots=True, order=True)
class SiteLocation:
    """One user's charging location; a location belongs to at most one site.

    Both ids are opaque here: ours for the user, Enode's (or the user's own) for the location.
    """

    user_id: str
    location_id: str


@dataclass(frozen=True, slots=True)
class SiteRecord:
    """A named group of charging locations behind one grid connection capped at `max_kw`.

    The locations may belong to different users: an apartment garage is one connection for many.
    `locations` is sorted; `updated_at` is the time of the last write to its cap or locations.
    """

    name: str
    max_kw: float
    locations: tuple[SiteLocation, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None


def check_site(name: str, max_kw: float) -> None:
    """Raise InvalidInput naming the value when `name` or `max_kw` cannot make a site."""
    if not re.fullmatch(SITE_NAME_PATTERN, name):
        raise InvalidInput(
            f"site name {name[:80]!r}: use 1 to 64 letters, digits and . _ : @ -, "
            "starting with a letter or digit"
        )
    if not (math.isfinite(max_kw) and max_kw > 0):
        raise InvalidInput(f"max_kw {max_kw!r}: must be a number of kW above 0")


def check_site_location(location: SiteLocation) -> None:
    """Raise InvalidInput naming the id that cannot be stored (empty or too long)."""
    for field_name, value in (("user", location.user_id), ("location", location.location_id)):
        if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
            raise InvalidInput(
                f"{field_name} id {value[:80]!r}: must be 1 to {MAX_ID_LENGTH} printable characters"
            )


class EventKind(StrEnum):
    """What an operator can be told about (`[[notify]] events`)."""

    GOAL_AT_RISK = "goal_at_risk"
    GOAL_MISSED = "goal_missed"
    COMMAND_FAILED = "command_failed"
    RELINK_REQUIRED = "relink_required"
    VENDOR_OUTAGE = "vendor_outage"
    PRICES_MISSING = "prices_missing"
    LEADER_CHANGED = "leader_changed"
    CAR_AWAY_WITH_PLAN = "car_away_with_plan"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class NotifyEvent:
    """Something an operator should hear about. `event_id` is stable: the same happening always
    gets the same id, so detecting it again (after a restart, on another replica) sends nothing."""

    event_id: str
    kind: EventKind
    at: datetime
    title: str
    message: str
    vehicle_id: str | None = None
    user_id: str | None = None


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Retries exhausted: kept for the operator to look at, never sent again.
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One event for one notification target, written before any attempt to deliver it."""

    event: NotifyEvent
    target: str
    next_attempt_at: datetime
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None
    entry_id: int | None = None


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


# A car this close below its target met it (SoC is reported in whole percent by many vendors).
MET_TOLERANCE_PERCENT = 1.0


def outcome_kind(
    *,
    target_percent: float,
    soc_percent: float | None,
    limit_percent: float | None,
    feasible: bool | None,
) -> OutcomeKind:
    """How a deadline went: the one judgement the outcome records, the web page's `missed` and
    the `goal_missed` notification share. A car stopped by its own lower charge limit is
    `capped`, not missed; a schedule that could not reach the target is `infeasible`."""
    if soc_percent is not None and soc_percent >= target_percent - MET_TOLERANCE_PERCENT:
        return OutcomeKind.MET
    if (
        soc_percent is not None
        and limit_percent is not None
        and 0 < limit_percent < target_percent
        and soc_percent >= limit_percent - MET_TOLERANCE_PERCENT
    ):
        return OutcomeKind.CAPPED
    if feasible is False:
        return OutcomeKind.INFEASIBLE
    return OutcomeKind.MISSED
