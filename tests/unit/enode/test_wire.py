from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from enode_scheduler.enode import wire
from enode_scheduler.exceptions import EnodeMalformedResponse

VEHICLE = {
    "id": "v1",
    "lastSeen": "2026-03-01T10:00:00.000Z",
    "isReachable": True,
    "chargingLocationId": None,
    "chargeState": {
        "batteryLevel": "38",
        "range": "127.5",
        "isPluggedIn": True,
        "isCharging": False,
        "chargeRate": None,
        "chargeTimeRemaining": None,
        "batteryCapacity": 73.21,
        "chargeLimit": 80,
        "isChargingReasons": ["SMART_CHARGING_DELAY"],
    },
    "smartChargingPolicy": {"isEnabled": True, "deadline": "08:00"},
    "information": {"id": "v1", "brand": "Tesla", "model": "Model S P85", "year": 2020},
    "someNewField": {"nested": 1},
}


def _parse(body: object) -> wire.Vehicle:
    return wire.parse(wire.Vehicle, json.dumps(body).encode(), operation="get_vehicle")


def test_lenient_vehicle_parses_strings_nulls_and_unknown_fields() -> None:
    vehicle = _parse(VEHICLE)
    assert vehicle.charge_state is not None
    assert vehicle.charge_state.battery_level == 38.0
    assert vehicle.charge_state.range_km == 127.5
    assert vehicle.charge_state.charge_rate_kw is None
    assert vehicle.last_seen == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert vehicle.vendor() == "TESLA"


def test_to_reading_maps_every_field() -> None:
    reading = wire.to_reading(_parse(VEHICLE), user_id="u1")
    assert reading.vehicle_id == "v1"
    assert reading.user_id == "u1"
    assert reading.vendor == "TESLA"
    assert reading.soc_percent == 38.0
    assert reading.is_plugged_in is True
    assert reading.is_charging is False
    assert reading.battery_capacity_kwh == 73.21
    assert reading.charge_limit_percent == 80.0
    assert reading.charging_reasons == ("SMART_CHARGING_DELAY",)
    assert reading.smart_charging_enabled is True
    assert reading.last_seen is not None
    assert reading.last_seen.tzinfo is not None


def test_minimal_vehicle_without_fields() -> None:
    body = {
        "id": "v2",
        "lastSeen": "2026-03-01T10:00:00Z",
        "isReachable": False,
        "chargingLocationId": "loc",
    }
    reading = wire.to_reading(_parse(body), user_id="u1")
    assert reading.soc_percent is None
    assert reading.vendor is None
    assert reading.smart_charging_enabled is None
    assert reading.charging_location_id == "loc"


def test_missing_required_fields_are_named() -> None:
    body = {"id": "v3", "chargeState": {}}
    with pytest.raises(EnodeMalformedResponse) as info:
        _parse(body)
    message = str(info.value)
    for name in ("lastSeen", "isReachable", "chargingLocationId"):
        assert f"missing {name}" in message


def test_wrong_type_is_named() -> None:
    body = dict(VEHICLE, isReachable="perhaps")
    with pytest.raises(EnodeMalformedResponse, match="bad isReachable"):
        _parse(body)


def test_invalid_json_is_malformed() -> None:
    with pytest.raises(EnodeMalformedResponse, match="get_vehicle"):
        wire.parse(wire.Vehicle, b'{"id": "v1", "lastSe', operation="get_vehicle")


def test_list_parsing_names_the_index() -> None:
    adapter = TypeAdapter(list[wire.Vehicle])
    with pytest.raises(EnodeMalformedResponse, match=r"missing 1\.lastSeen"):
        wire.parse(
            adapter,
            json.dumps(
                [VEHICLE, {"id": "x", "isReachable": True, "chargingLocationId": None}]
            ).encode(),
            operation="list_vehicles",
        )


def test_null_reasons_are_empty() -> None:
    state = wire.parse(wire.ChargeState, b'{"isChargingReasons": null}', operation="cs")
    assert state.is_charging_reasons == ()


def test_vendor_health_rejects_unknown_status() -> None:
    body = b'[{"vendor": "TESLA", "displayName": "Tesla", "status": "ON_FIRE"}]'
    with pytest.raises(EnodeMalformedResponse, match="status"):
        wire.parse(TypeAdapter(list[wire.VendorHealth]), body, operation="vendor_health")


@given(level=st.floats(0, 100, allow_nan=False), as_text=st.booleans())
def test_battery_level_number_or_string(level: float, as_text: bool) -> None:
    value: object = repr(level) if as_text else level
    state = wire.parse(
        wire.ChargeState, json.dumps({"batteryLevel": value}).encode(), operation="cs"
    )
    assert state.battery_level == pytest.approx(level)
