"""Enode firehose deliveries: signature check, event parsing, and merging partial vehicle updates.

A delivery is a JSON array of `{event, createdAt, user{id}, vehicle{...}}`, where `vehicle` has
only the fields that changed. Pure functions; the route in `webhooks.py` does the I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.records import VehicleReading

__all__ = [
    "UPDATE_EVENTS",
    "Event",
    "FieldTimes",
    "VehiclePatch",
    "merge",
    "parse_delivery",
    "parse_patch",
    "patch_changes",
    "signature_ok",
]

UPDATE_EVENTS = frozenset({"user:vehicle:updated", "user:vehicle:discovered"})
# Enode sends timestamps with "Z"; one without an offset is taken as UTC.
UtcDatetime = Annotated[
    datetime, AfterValidator(lambda v: v.replace(tzinfo=UTC) if v.tzinfo is None else v)
]
_VENDORS = frozenset({"TESLA", "BMW", "AUDI", "VOLKSWAGEN", "HYUNDAI", "PEUGEOT", "NISSAN"})


def signature_ok(body: bytes, header: str | None, *, secret: str) -> bool:
    """Whether `header` is "sha1=" + hex HMAC-SHA1 of the raw body; constant-time compare."""
    if not header:
        return False
    expected = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class EventUser(_Lenient):
    id: str = Field(min_length=1, max_length=256)


class Event(_Lenient):
    """One event of a delivery; `vehicle` stays raw until `parse_patch`."""

    event: str = Field(max_length=128)
    created_at: UtcDatetime = Field(alias="createdAt")
    user: EventUser | None = None
    vehicle: dict[str, Any] | None = None


_DELIVERY = TypeAdapter(list[Event])


def parse_delivery(body: bytes) -> list[Event]:
    """The events of a delivery; InvalidInput when the body is not an array of events."""
    try:
        return _DELIVERY.validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"webhook body: {where}: {first['msg']}") from exc


class ChargeStatePatch(_Lenient):
    battery_level: float | None = Field(None, alias="batteryLevel", ge=0, le=100)
    is_plugged_in: bool | None = Field(None, alias="isPluggedIn")
    is_charging: bool | None = Field(None, alias="isCharging")
    # Not bounded here: an impossible rate is made unknown (`reading.sanitise`), while the rest
    # of the event is still used.
    charge_rate: float | None = Field(None, alias="chargeRate")
    battery_capacity: float | None = Field(None, alias="batteryCapacity", gt=0)
    charge_limit: float | None = Field(None, alias="chargeLimit", ge=0, le=100)
    is_charging_reasons: tuple[str, ...] | None = Field(None, alias="isChargingReasons")


class PolicyPatch(_Lenient):
    is_enabled: bool | None = Field(None, alias="isEnabled")


class InformationPatch(_Lenient):
    brand: str | None = None


class VehiclePatch(_Lenient):
    """The changed fields of a vehicle; `model_fields_set` tells what was sent."""

    id: str = Field(min_length=1, max_length=128)
    last_seen: UtcDatetime | None = Field(None, alias="lastSeen")
    is_reachable: bool | None = Field(None, alias="isReachable")
    charging_location_id: str | None = Field(None, alias="chargingLocationId")
    charge_state: ChargeStatePatch | None = Field(None, alias="chargeState")
    smart_charging_policy: PolicyPatch | None = Field(None, alias="smartChargingPolicy")
    information: InformationPatch | None = None


def parse_patch(raw: dict[str, Any]) -> VehiclePatch:
    """A vehicle patch; InvalidInput naming the first bad field (e.g. SoC over 100)."""
    try:
        return VehiclePatch.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"vehicle {where}: {first['msg']}") from exc


def blank_reading(vehicle_id: str, user_id: str) -> VehicleReading:
    return VehicleReading(
        vehicle_id=vehicle_id,
        user_id=user_id,
        vendor=None,
        last_seen=None,
        is_reachable=None,
        soc_percent=None,
        is_plugged_in=None,
        is_charging=None,
        charge_rate_kw=None,
        battery_capacity_kwh=None,
        charge_limit_percent=None,
    )


def patch_changes(patch: VehiclePatch) -> dict[str, Any]:
    """The `VehicleReading` fields the patch sets (only those Enode sent), by our names."""
    changes: dict[str, Any] = {}
    sent = patch.model_fields_set
    if "is_reachable" in sent:
        changes["is_reachable"] = patch.is_reachable
    if "charging_location_id" in sent:
        changes["charging_location_id"] = patch.charging_location_id
    if patch.charge_state is not None:
        changes.update(_charge_changes(patch.charge_state))
    policy = patch.smart_charging_policy
    if policy is not None and "is_enabled" in policy.model_fields_set:
        changes["smart_charging_enabled"] = policy.is_enabled
    brand = (patch.information.brand or "") if patch.information else ""
    if brand.strip().upper().replace(" ", "") in _VENDORS:
        changes["vendor"] = brand.strip().upper().replace(" ", "")
    return changes


def merge(current: VehicleReading, changes: Mapping[str, Any], *, seen: datetime) -> VehicleReading:
    """`current` with `changes` applied; `last_seen` only ever moves forward."""
    last = current.last_seen
    newest = seen.astimezone(UTC) if last is None else max(last, seen.astimezone(UTC))
    return replace(current, **changes, last_seen=newest)


class FieldTimes:
    """When each field of each vehicle was last set, so that a delivery that arrives late still
    sets the fields that later deliveries did not carry, and never undoes the ones they did.

    Kept in memory for the most recent `capacity` vehicles. A stored reading newer than what
    this remembers (a poll, a restart) resets the vehicle to that reading's time for every field.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._times: OrderedDict[str, dict[str, datetime]] = OrderedDict()
        self._capacity = capacity

    def fresh(
        self,
        current: VehicleReading | None,
        changes: Mapping[str, Any],
        *,
        vehicle_id: str,
        at: datetime,
    ) -> dict[str, Any]:
        """The part of `changes` (made at `at`) newer than what set each field; records it."""
        times = self._sync(vehicle_id, current)
        kept = {name: value for name, value in changes.items() if at >= times.get(name, at)}
        times.update((name, at) for name in kept)
        return kept

    def seen(self, vehicle_id: str, last_seen: datetime | None) -> None:
        if last_seen is not None and vehicle_id in self._times:
            self._times[vehicle_id][_SEEN] = last_seen

    def _sync(self, vehicle_id: str, current: VehicleReading | None) -> dict[str, datetime]:
        times = self._times.get(vehicle_id)
        stored = current.last_seen if current is not None else None
        if times is None or (stored is not None and stored > times.get(_SEEN, stored)):
            times = {name: stored for name in _READING_FIELDS} if stored else {}
            times[_SEEN] = stored or datetime.min.replace(tzinfo=UTC)
        self._times[vehicle_id] = times
        self._times.move_to_end(vehicle_id)
        if len(self._times) > self._capacity:
            self._times.popitem(last=False)
        return times


_SEEN = "last_seen"
_READING_FIELDS = tuple(f.name for f in fields(VehicleReading) if f.name != _SEEN)


_CHARGE_FIELDS = {
    "battery_level": "soc_percent",
    "is_plugged_in": "is_plugged_in",
    "is_charging": "is_charging",
    "charge_rate": "charge_rate_kw",
    "battery_capacity": "battery_capacity_kwh",
    "charge_limit": "charge_limit_percent",
}


def _charge_changes(state: ChargeStatePatch) -> dict[str, Any]:
    sent = state.model_fields_set
    changes = {
        ours: getattr(state, theirs) for theirs, ours in _CHARGE_FIELDS.items() if theirs in sent
    }
    if "is_charging_reasons" in sent:
        changes["charging_reasons"] = tuple(state.is_charging_reasons or ())
    return changes
