"""Pydantic models of Enode's JSON, lenient where the spec is loose, and their conversion.

Numbers may come as strings ("38"), charge figures are null while not charging, unknown fields
are ignored; a missing required field is an EnodeMalformedResponse that names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from enode_scheduler.exceptions import EnodeMalformedResponse
from enode_scheduler.records import ChargingLocation as LocationRecord
from enode_scheduler.records import VehicleReading

VENDORS = ("TESLA", "BMW", "AUDI", "VOLKSWAGEN", "HYUNDAI", "PEUGEOT", "NISSAN")
VEHICLE_FIELDS = ("smartChargingPolicy", "chargeState", "location", "information", "odometer")
WATCH_PROPERTIES = (
    "BATTERY_LEVEL",
    "RANGE",
    "IS_PLUGGED_IN",
    "IS_CHARGING",
    "IS_CHARGING_REASONS",
    "LOCATION",
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ChargeState(_Wire):
    battery_level: float | None = Field(None, alias="batteryLevel")
    range_km: float | None = Field(None, alias="range")
    is_plugged_in: bool | None = Field(None, alias="isPluggedIn")
    is_charging: bool | None = Field(None, alias="isCharging")
    charge_rate_kw: float | None = Field(None, alias="chargeRate")
    charge_time_remaining_min: float | None = Field(None, alias="chargeTimeRemaining")
    battery_capacity_kwh: float | None = Field(None, alias="batteryCapacity")
    charge_limit_percent: float | None = Field(None, alias="chargeLimit")
    is_charging_reasons: tuple[str, ...] = Field((), alias="isChargingReasons")

    @field_validator("is_charging_reasons", mode="before")
    @classmethod
    def _null_reasons(cls, value: Any) -> Any:
        return () if value is None else value


class SmartChargingPolicy(_Wire):
    is_enabled: bool | None = Field(None, alias="isEnabled")
    deadline: str | None = Field(None, pattern=r"^\d{2}:\d{2}$")


class Information(_Wire):
    id: str | None = None
    brand: str | None = None
    model: str | None = None
    year: int | None = None


class Position(_Wire):
    latitude: float | None = None
    longitude: float | None = None

    @property
    def known(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class Vehicle(_Wire):
    id: str
    last_seen: datetime = Field(alias="lastSeen")
    is_reachable: bool = Field(alias="isReachable")
    # Required but nullable: the spec says "the charging location it is at, if any".
    charging_location_id: str | None = Field(alias="chargingLocationId")
    charge_state: ChargeState | None = Field(None, alias="chargeState")
    smart_charging_policy: SmartChargingPolicy | None = Field(None, alias="smartChargingPolicy")
    information: Information | None = None
    location: Position | None = None

    @field_validator("last_seen")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware(value)

    def vendor(self) -> str | None:
        """The Enode vendor id, inferred from the brand when it names one."""
        brand = (self.information.brand or "") if self.information else ""
        upper = brand.strip().upper().replace(" ", "")
        return upper if upper in VENDORS else None


class VendorHealth(_Wire):
    vendor: str
    display_name: str | None = Field(None, alias="displayName")
    status: Literal["READY", "ELEVATED_ERROR_RATE", "OUTAGE"]


class ChargingLocation(_Wire):
    id: str
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class LinkResponse(_Wire):
    link_state: str = Field(alias="linkState")


class WatchResponse(_Wire):
    properties: Any = None


class TokenResponse(_Wire):
    access_token: str
    token_type: str | None = None
    expires_in: float
    refresh_token: str | None = None
    scope: str | None = None


M = TypeVar("M")


def parse(model: type[M] | TypeAdapter[M], payload: bytes, *, operation: str) -> M:
    """Validate a JSON body; raise EnodeMalformedResponse naming each bad field."""
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_json(payload)
    except ValidationError as exc:
        raise EnodeMalformedResponse(f"{operation}: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    """One line naming each offending field, e.g. 'missing lastSeen; bad isReachable'."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        kind = "missing" if err["type"] == "missing" else "bad"
        parts.append(f"{kind} {where}" + ("" if kind == "missing" else f" ({err['msg']})"))
    return "; ".join(parts[:8])


def to_reading(vehicle: Vehicle, *, user_id: str) -> VehicleReading:
    """The port's record for a vehicle as Enode described it."""
    state = vehicle.charge_state or ChargeState()
    policy = vehicle.smart_charging_policy
    return VehicleReading(
        vehicle_id=vehicle.id,
        user_id=user_id,
        vendor=vehicle.vendor(),
        last_seen=vehicle.last_seen,
        is_reachable=vehicle.is_reachable,
        soc_percent=state.battery_level,
        is_plugged_in=state.is_plugged_in,
        is_charging=state.is_charging,
        charge_rate_kw=state.charge_rate_kw,
        battery_capacity_kwh=state.battery_capacity_kwh,
        charge_limit_percent=state.charge_limit_percent,
        charging_reasons=state.is_charging_reasons,
        charging_location_id=vehicle.charging_location_id,
        smart_charging_enabled=policy.is_enabled if policy else None,
        position_known=vehicle.location.known if vehicle.location is not None else None,
    )


def to_location(location: ChargingLocation, *, user_id: str) -> LocationRecord:
    return LocationRecord(
        location_id=location.id,
        user_id=user_id,
        name=location.name,
        latitude=location.latitude,
        longitude=location.longitude,
    )
