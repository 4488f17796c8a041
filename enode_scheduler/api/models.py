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
    """A charge goal: reach `target_soc_percent` by `deadline`, or every `repeat` time."""

    target_soc_percent: Percent
    deadline: AwareDatetime | None = Field(None, description="One-off deadline, with offset.")
    repeat: RepeatIn | None = None
    timezone: str = Field("UTC", max_length=64, description="IANA zone of `repeat.at`.")
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
        if self.min_soc_percent > self.target_soc_percent:
            raise ValueError("min_soc_percent must not exceed target_soc_percent")
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


class VehiclesOut(BaseModel):
    user_id: str
    vehicles: list[VehicleOut]


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
