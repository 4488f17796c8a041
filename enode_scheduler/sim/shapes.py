"""The JSON shapes of the spec's vehicle objects, built from a SimVehicle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enode_scheduler.sim.vehicle import SimVehicle

VEHICLE_FIELDS = ("smartChargingPolicy", "chargeState", "location", "information", "odometer")


def vehicle_body(vehicle: SimVehicle, fields: list[str]) -> dict[str, Any]:
    """The Vehicle object: id, lastSeen, isReachable, chargingLocationId and asked-for parts."""
    body: dict[str, Any] = {
        "id": vehicle.id,
        "lastSeen": _stamp(vehicle),
        "isReachable": vehicle.reachable,
        "chargingLocationId": vehicle.charging_location_id if vehicle.reports_location else None,
    }
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "chargeState": lambda: vehicle.charge_state(),
        "information": lambda: information(vehicle),
        "location": lambda: location(vehicle),
        "odometer": lambda: odometer(vehicle),
        "smartChargingPolicy": lambda: policy(vehicle),
    }
    for name in fields:
        if name == "location" and not vehicle.reports_location:
            continue  # such a vendor leaves the part out
        body[name] = parts[name]()
    return body


def information(vehicle: SimVehicle) -> dict[str, Any]:
    return {"id": vehicle.id, "brand": vehicle.vendor, "model": vehicle.model, "year": vehicle.year}


def location(vehicle: SimVehicle) -> dict[str, Any]:
    return {
        "latitude": vehicle.latitude,
        "longitude": vehicle.longitude,
        "lastUpdated": _stamp(vehicle),
    }


def odometer(vehicle: SimVehicle) -> dict[str, Any]:
    return {"distance": vehicle.odometer_km, "lastUpdated": _stamp(vehicle)}


def policy(vehicle: SimVehicle) -> dict[str, Any]:
    body: dict[str, Any] = {"isEnabled": vehicle.smart_enabled}
    if vehicle.smart_deadline is not None:
        body["deadline"] = vehicle.smart_deadline
    return body


def _stamp(vehicle: SimVehicle) -> str:
    seen = vehicle.last_seen or vehicle.updated_at
    return seen.isoformat().replace("+00:00", "Z")
