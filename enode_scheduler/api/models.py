"""Request and response bodies of the HTTP API. Requests reject unknown fields."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime, time
from typing import Annotated, Literal, Self

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from enode_scheduler.records import SITE_NAME_PATTERN, OverrideKind

__all__ = [
    "ID_PATTERN",
    "ChargerId",
    "ChargerOut",
    "ChargerPlanIn",
    "ChargerScheduleOut",
    "ChargersOut",
    "CommandOut",
    "LinkOut",
    "LocationAdded",
    "LocationId",
    "LocationIn",
    "LocationOut",
    "LocationsOut",
    "OverrideIn",
    "OverrideOut",
    "PlanIn",
    "PlanOut",
    "RepeatIn",
    "ScheduleOut",
    "SiteIn",
    "SiteLocationOut",
    "SiteName",
    "SiteOut",
    "SitesOut",
    "UserId",
    "VehicleId",
    "VehicleOut",
    "VehicleScheduleOut",
    "VehiclesOut",
    "WebhookResult",
    "WindowOut",
]

# Our user ids and Enode's vehicle ids: letters, digits and a few separators, no path tricks.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
UserId = Annotated[str, Path(pattern=ID_PATTERN, description="Our user id (also Enode's).")]
VehicleId = Annotated[str, Path(pattern=ID_PATTERN, description="Enode's vehicle id.")]
ChargerId = Annotated[str, Path(pattern=ID_PATTERN, description="Enode's charger id.")]
LocationId = Annotated[str, Path(pattern=ID_PATTERN, description="Enode's charging location id.")]
SiteName = Annotated[str, Path(pattern=SITE_NAME_PATTERN, description="The site's name.")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Percent = Annotated[float, Field(ge=0, le=100)]


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def check_zone(name: str) -> str:
    """`name` when it is a known IANA zone; ValueError otherwise."""
    if name not in _zones():
        raise ValueError(f"unknown time zone {name[:64]!r}; use an IANA name like Europe/Oslo")
    return name


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RepeatIn(_In):
    """A repeating deadline: these weekdays at this local time."""

    days: list[Weekday] = Field(min_length=1, max_length=7)
    at: time = Field(description="Local time of day, HH:MM.")

    @field_validator("days")
    @classmethod
    def _unique(cls, days: list[Weekday]) -> list[Weekday]:
        return sorted(set(days), key=WEEKDAYS.index)

    @field_validator("at")
    @classmethod
    def _local(cls, at: time) -> time:
        if at.tzinfo is not None:
            raise ValueError("give the local time without an offset; the zone is `timezone`")
        return at


class PlanIn(_In):
    """A charge goal: reach `target_soc_percent` by `deadline`, or every `repeat` time.

    The body `GET .../plan` answers may be sent back as it is: its read-only fields are ignored,
    except that `vehicle_id`, `user_id` and `plan_id` must be this vehicle's.
    """

    target_soc_percent: Percent
    deadline: datetime | None = Field(
        None,
        description="One-off deadline: with an offset, or local to `timezone` without one.",
    )
    repeat: RepeatIn | None = None
    timezone: str = Field(
        "UTC", max_length=64, description="IANA zone of `repeat.at` and of a local `deadline`."
    )
    min_soc_percent: Percent = 0.0
    start_penalty: float = Field(0.0, ge=0, le=1000, description="Cost added per charge start.")
    co2_price_per_kg: float | None = Field(
        None,
        ge=0,
        le=1000,
        description=(
            "Money per kg CO2 for this plan (plans minimise energy cost + this * kg CO2); "
            "null follows the [co2] settings."
        ),
    )
    enabled: bool = True
    charger_id: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="Charge through this charger: SoC from the car, START/STOP to the charger.",
    )
    # Read-only fields of PlanOut, accepted so a GET body round-trips.
    plan_id: int | None = Field(None, description="Read-only; must match when given.")
    vehicle_id: str | None = Field(None, max_length=128, description="Read-only; must match.")
    user_id: str | None = Field(None, max_length=128, description="Read-only; must match.")
    status: str | None = Field(None, max_length=16, description="Read-only; ignored.")
    status_reason: str | None = Field(None, max_length=1000, description="Read-only; ignored.")
    created_at: datetime | None = Field(None, description="Read-only; ignored.")
    updated_at: datetime | None = Field(None, description="Read-only; ignored.")
    target: str | None = Field(None, max_length=16, description="Read-only; ignored.")
    energy_kwh: float | None = Field(
        None, description="Read-only here (a charger-only plan is set at /v1/chargers); ignored."
    )
    location_id: str | None = Field(
        None,
        max_length=255,
        description="As GET answers it: the location when `location` is not given.",
    )
    location: str | None = Field(
        None,
        max_length=255,
        description=(
            "Charging location (id or name) where the plan applies; default: the user's only "
            "one. Without one the plan is stored but the car is not controlled."
        ),
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        return check_zone(name)

    @model_validator(mode="after")
    def _one_goal(self) -> Self:
        if (self.deadline is None) == (self.repeat is None):
            raise ValueError("give exactly one of deadline and repeat")
        if self.deadline is not None and self.deadline.tzinfo is None:
            if "timezone" not in self.model_fields_set:
                raise ValueError("deadline: give an offset, or the `timezone` it is local to")
            local = self.deadline.replace(tzinfo=zoneinfo.ZoneInfo(self.timezone))
            object.__setattr__(self, "deadline", local)  # frozen model, set while validating
        if self.min_soc_percent > self.target_soc_percent:
            raise ValueError("min_soc_percent must not exceed target_soc_percent")
        return self


class ChargerPlanIn(_In):
    """A charger-only goal (no SoC known): deliver `energy_kwh` by `deadline` or each `repeat`."""

    energy_kwh: float = Field(gt=0, le=1000, description="Energy to deliver through the charger.")
    location: str | None = Field(
        None,
        max_length=255,
        description=(
            "Charging location (id or name) the charger is at; default: the user's only one. "
            "Without one the plan is stored but the charger is not controlled."
        ),
    )
    deadline: AwareDatetime | None = Field(None, description="One-off deadline, with offset.")
    repeat: RepeatIn | None = None
    timezone: str = Field("UTC", max_length=64, description="IANA zone of `repeat.at`.")
    start_penalty: float = Field(0.0, ge=0, le=1000, description="Cost added per charge start.")
    co2_price_per_kg: float | None = Field(
        None,
        ge=0,
        le=1000,
        description="Money per kg CO2 for this plan; null follows the [co2] settings.",
    )
    enabled: bool = True

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        return check_zone(name)

    @model_validator(mode="after")
    def _one_goal(self) -> Self:
        if (self.deadline is None) == (self.repeat is None):
            raise ValueError("give exactly one of deadline and repeat")
        return self


class RepeatOut(BaseModel):
    days: list[Weekday]
    at: str


class PlanOut(BaseModel):
    plan_id: int | None
    vehicle_id: str
    user_id: str
    target_soc_percent: float
    deadline: datetime | None
    repeat: RepeatOut | None
    timezone: str
    min_soc_percent: float
    start_penalty: float
    co2_price_per_kg: float | None
    enabled: bool
    location_id: str | None = Field(description="Where the plan applies; None: not controlled.")
    status: str = Field(
        description=(
            "active, failed or done; for an active plan that is not acting: away (the car is "
            "plugged in elsewhere), location_unknown (its vendor does not say where it is) or "
            "no_location (the plan names no charging location)."
        )
    )
    status_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    target: Literal["vehicle", "charger"] = Field(
        "vehicle", description="Where START/STOP go: the car, or `charger_id`."
    )
    charger_id: str | None = None
    energy_kwh: float | None = Field(None, description="A charger-only plan's energy goal.")


class OverrideIn(_In):
    """`charge_now` until a SoC and/or a time, or `pause` until a time; wins over the plan."""

    action: Literal["charge_now", "pause"]
    until: AwareDatetime | None = None
    until_soc_percent: Percent | None = None

    @model_validator(mode="after")
    def _ends(self) -> Self:
        if self.action == "pause" and (self.until is None or self.until_soc_percent is not None):
            raise ValueError("pause needs until (a time) and no until_soc_percent")
        if self.until is None and self.until_soc_percent is None:
            raise ValueError("charge_now needs until, until_soc_percent or both")
        return self


class OverrideOut(BaseModel):
    vehicle_id: str
    action: OverrideKind
    until: datetime | None
    until_soc_percent: float | None
    created_at: datetime
    active: bool


class LocationIn(_In):
    """A new charging location: at `from_vehicle`'s position, or at latitude/longitude."""

    name: str = Field(min_length=1, max_length=255)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    from_vehicle: str | None = Field(None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        coordinates = self.latitude is not None and self.longitude is not None
        if (self.from_vehicle is None) == (not coordinates):
            raise ValueError("give from_vehicle, or latitude and longitude (not both)")
        if self.from_vehicle is None and (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude")
        return self


class LocationOut(BaseModel):
    location_id: str
    name: str | None
    latitude: float | None
    longitude: float | None


class LocationsOut(BaseModel):
    user_id: str
    locations: list[LocationOut]


class LocationAdded(LocationOut):
    adopted_by: list[str] = Field(
        description="Vehicles whose plans had no location and now apply here."
    )


class LinkOut(BaseModel):
    authorize_url: str


class VehicleOut(BaseModel):
    vehicle_id: str
    vendor: str | None
    soc_percent: float | None
    is_plugged_in: bool | None
    is_charging: bool | None
    is_reachable: bool | None
    charge_rate_kw: float | None
    battery_capacity_kwh: float | None
    charge_limit_percent: float | None
    charging_reasons: list[str]
    smart_charging_enabled: bool | None
    charging_location_id: str | None = Field(
        None, description="The charging location the car is at, as its vendor last said."
    )
    last_seen: datetime | None
    reading_age_s: float | None = Field(description="Seconds since `last_seen`.")


class ChargerOut(BaseModel):
    charger_id: str
    vendor: str | None
    brand: str | None
    model: str | None
    is_plugged_in: bool | None
    is_charging: bool | None
    is_reachable: bool | None
    charge_rate_kw: float | None
    energy_kwh: float | None = Field(
        description="Energy the charger delivered since the daemon first read it (its meter)."
    )
    last_seen: datetime | None
    reading_age_s: float | None = Field(description="Seconds since `last_seen`.")


class ChargersOut(BaseModel):
    user_id: str
    chargers: list[ChargerOut]


class VehiclesOut(BaseModel):
    user_id: str
    vehicles: list[VehicleOut]


class VehicleStatusOut(BaseModel):
    vehicle_id: str
    user_id: str
    status: str = Field(description="ok, relink_required, error or vendor_outage.")
    reason: str | None
    since: datetime | None


class UserStatusOut(BaseModel):
    user_id: str
    status: str = Field(description="linked, not_linked or relink_required.")
    reason: str | None


class StatusOut(BaseModel):
    """Who needs attention: every planned vehicle's status and every user's link status."""

    vehicles: list[VehicleStatusOut]
    users: list[UserStatusOut]


class WindowOut(BaseModel):
    start: datetime
    end: datetime
    reason: str
    provisional: bool
    explanation: str


class ScheduleOut(BaseModel):
    computed_at: datetime
    deadline: datetime
    feasible: bool
    windows: list[WindowOut]
    expected_soc_at_deadline_percent: float
    energy_kwh: float
    expected_cost: float
    cost_if_charged_now: float
    saving: float
    co2_kg: float = Field(description="Expected emissions, kg CO2eq (0 without a CO2 source).")
    co2_kg_if_charged_now: float = Field(description="Emissions of charging at once, kg CO2eq.")
    co2_saving_kg: float = Field(description="co2_kg_if_charged_now - co2_kg.")
    starts: int
    explanation: list[str]
    site: str | None = Field(
        default=None,
        description="Planned with the other cars at a capped site: which site, its cap and "
        "how many cars share it (null for a car planned on its own).",
    )


class CommandOut(BaseModel):
    key: str
    action: str
    reason: str
    status: str
    attempts: int
    created_at: datetime | None
    sent_at: datetime | None
    verified_at: datetime | None
    error: str | None


class OutcomeOut(BaseModel):
    deadline: datetime
    outcome: Literal["met", "missed", "capped", "infeasible"]
    detail: str = Field(description="e.g. `missed by 9 %`, `capped by the car's limit at 80 %`.")
    target_soc_percent: float
    soc_percent: float | None = Field(description="The car's SoC at the deadline.")
    limit_percent: float | None = Field(description="The car's own charge limit, if reported.")


class VehicleScheduleOut(BaseModel):
    vehicle_id: str
    status: str | None = Field(
        None, description="The plan's status (see PlanOut.status); None without a plan."
    )
    location_id: str | None = Field(None, description="The plan's charging location.")
    charging_location_id: str | None = Field(
        None, description="The charging location the car is at, as its vendor last said."
    )
    schedule: ScheduleOut | None = Field(description="None until the planner has run.")
    override: OverrideOut | None
    commands: list[CommandOut] = Field(description="Command intents of the last 24 hours.")
    last_outcome: OutcomeOut | None = Field(
        default=None, description="How the plan's latest deadline went; None before the first."
    )
    currency: str = Field(default="EUR", description="Currency of every cost and saving.")


class ChargerScheduleOut(BaseModel):
    """A charger-only plan's schedule: its SoC figures are shares of the energy goal."""

    charger_id: str
    energy_goal_kwh: float | None = Field(description="The plan's goal; None without a plan.")
    energy_delivered_kwh: float | None = Field(
        description="Delivered this cycle (since the cycle's deadline was set); None before."
    )
    cycle_deadline: datetime | None
    schedule: ScheduleOut | None = Field(description="None until the planner has run.")
    commands: list[CommandOut] = Field(description="Command intents of the last 24 hours.")


class WebhookResult(BaseModel):
    events: int
    applied: int
    ignored: int


class SiteIn(_In):
    """A site's power cap: the most all its charging cars may draw together."""

    max_kw: float = Field(gt=0, allow_inf_nan=False, description="The cap in kW, above 0.")


class SiteLocationOut(BaseModel):
    user_id: str
    location_id: str


class SiteOut(BaseModel):
    name: str
    max_kw: float
    locations: list[SiteLocationOut] = Field(description="Sorted by user, then location.")
    created_at: datetime | None
    updated_at: datetime | None


class SitesOut(BaseModel):
    sites: list[SiteOut] = Field(description="Sorted by name.")
