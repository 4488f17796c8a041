"""The /_sim/ control API: steer the fake cars and faults over HTTP (loopback only, no auth).

JSON in and out; errors are {"error": ...} with 400 (bad input) or 404 (unknown vehicle).

    GET    /_sim/info                        sim time, users, vehicle count, seed, health
    GET    /_sim/vehicles                    every car with its hidden state and counters
    POST   /_sim/vehicles                    add a car: {"user_id", "vendor", <SimVehicle fields>}
    GET    /_sim/vehicles/{id}               one car
    PATCH  /_sim/vehicles/{id}               soc_percent, charge_limit_percent, plugged_in,
                                             reachable, smart_charging_enabled/_deadline,
                                             charging_location_id (str|null), max_charge_kw,
                                             latitude, longitude (move), reports_location
    POST   /_sim/vehicles/{id}/plug|unplug
    GET    /_sim/chargers                    every charger with its hidden state and counters
    POST   /_sim/chargers                    add a charger: {"user_id", "vendor", <fields>}
    GET    /_sim/chargers/{id}               one charger
    PATCH  /_sim/chargers/{id}               reachable
    POST   /_sim/chargers/{id}/plug          {"vehicle_id"?}: that simulated car, or an
                                             anonymous one, is plugged into the charger
    POST   /_sim/chargers/{id}/unplug
    GET    /_sim/counters                    {vehicle_id: counters}
    GET    /_sim/faults  POST /_sim/faults   list / add (body: Fault fields)
    DELETE /_sim/faults  DELETE /_sim/faults/{id}
    GET    /_sim/log?since=SEQ&path_prefix=P DELETE /_sim/log
    GET    /_sim/commands?vehicle_id=V       start/stop commands received: sim_time, action, status
    PUT    /_sim/vendors/{vendor}/status     {"status": READY|ELEVATED_ERROR_RATE|OUTAGE}
    PUT    /_sim/ready                       {"ready": bool}
    PUT    /_sim/command-delay               {"seconds", "vendor"?}
    POST   /_sim/users/{id}/token            {"scopes"?} -> tokens without the link flow
    POST   /_sim/users/{id}/revoke           drop the user's tokens
    PUT|DELETE /_sim/users/{id}/link-denial  {"error", "description"}
    POST   /_sim/tokens/expire               every access token expires now
    GET    /_sim/webhooks                    firehose config and deliveries
    POST   /_sim/webhooks/deliver            {"vehicle_id", "event"?} -> one delivery now
    GET    /_sim/locations/{id}/power?above_kw=X  {"peak_kw", "seconds_above"}: the cars' summed
                                             charging power there, since start or reset
    DELETE /_sim/power                       reset that history for every location
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enode_scheduler.sim.charger import SimCharger
from enode_scheduler.sim.faults import Fault
from enode_scheduler.sim.state import SimState, UnknownCharger, UnknownVehicle
from enode_scheduler.sim.vehicle import SimVehicle
from enode_scheduler.sim.webhooks import Delivery

_FAULT_FIELDS = {f.name for f in fields(Fault)} - {"id", "until", "hits", "_seen"}
ControlHandler = Callable[[Request, SimState, dict[str, Any]], Awaitable[Any]]


def vehicle_view(state: SimState, vehicle: SimVehicle) -> dict[str, Any]:
    """Everything about one car, including what the API does not show."""
    return {
        "id": vehicle.id,
        "user_id": vehicle.user_id,
        "vendor": vehicle.vendor,
        "model": vehicle.model,
        "capacity_kwh": vehicle.capacity_kwh,
        "max_charge_kw": vehicle.max_charge_kw,
        "efficiency": vehicle.efficiency,
        "charge_limit_percent": vehicle.charge_limit_percent,
        "soc_percent": vehicle.soc_percent,
        "plugged_in": vehicle.plugged_in,
        "charging": vehicle.charging,
        "reasons": vehicle.reasons,
        "reachable": vehicle.reachable,
        "smart_charging_enabled": vehicle.smart_enabled,
        "charging_location_id": vehicle.charging_location_id,
        "reports_location": vehicle.reports_location,
        "command_delay_s": state.command_delay(vehicle.vendor),
        "pending": [
            {"action": c.action, "effective_at": c.effective_at.isoformat()}
            for c in vehicle.pending
        ],
        "counters": asdict(state.counters[vehicle.id]),
    }


def charger_view(state: SimState, charger: SimCharger) -> dict[str, Any]:
    """Everything about one charger, including what the API does not show."""
    car = state.charger_car(charger)
    return {
        "id": charger.id,
        "user_id": charger.user_id,
        "vendor": charger.vendor,
        "model": charger.model,
        "max_charge_kw": charger.max_charge_kw,
        "vehicle_id": charger.vehicle_id,
        "plugged_in": charger.is_plugged(car),
        "charging": charger.is_charging(car),
        "enabled": charger.enabled,
        "reachable": charger.reachable,
        "delivered_kwh": round(charger.delivered_kwh, 4),
        "command_delay_s": state.command_delay(charger.vendor),
        "pending": [
            {"action": c.action, "effective_at": c.effective_at.isoformat()}
            for c in charger.pending
        ],
        "counters": asdict(state.counters[charger.id]),
    }


def control(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        host = request.client.host if request.client else ""
        if not _loopback(host):
            return JSONResponse({"error": "the control API answers loopback only"}, 403)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
            result = await handler(request, request.app.state.sim, body)
        except UnknownVehicle as exc:
            return JSONResponse({"error": f"unknown vehicle {exc.args[0]}"}, 404)
        except UnknownCharger as exc:
            return JSONResponse({"error": f"unknown charger {exc.args[0]}"}, 404)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(result)

    return run


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


def _vid(request: Request) -> str:
    return str(request.path_params["vehicleId"])


async def info(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return {
        "now": state.now().isoformat(),
        "users": sorted(state.users),
        "vehicles": len(state.vehicles),
        "seed": state.config.seed,
        "ready": state.ready,
        "vendor_status": state.vendor_status,
    }


async def list_vehicles(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return [vehicle_view(state, state.vehicle(v)) for v in list(state.vehicles)]


async def get_vehicle(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return vehicle_view(state, state.vehicle(_vid(request)))


async def add_vehicle(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    user_id = body.pop("user_id")
    return vehicle_view(state, state.add_vehicle(str(user_id), **body))


async def plug(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return vehicle_view(state, state.plug(_vid(request)))


async def unplug(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return vehicle_view(state, state.unplug(_vid(request)))


async def patch_vehicle(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    """Set any of soc_percent, charge_limit_percent, plugged_in, reachable, smart_charging_*,
    charging_location_id, max_charge_kw, latitude and longitude (where the car is, and its
    charger's power)."""
    vid = _vid(request)
    # Moving first: a car plugged in by the same request is plugged in at its new place.
    if _MOVE_KEYS & set(body):
        place = body.pop("charging_location_id", state.vehicle(vid).charging_location_id)
        if place is not None and not isinstance(place, str):
            raise ValueError("charging_location_id must be a string or null")
        numbers = {key: _number(body.pop(key, None), key) for key in _MOVE_NUMBERS}
        state.move(vid, charging_location_id=place, **numbers)
    setters: dict[str, Callable[[Any], object]] = {
        "plugged_in": lambda v: state.plug(vid) if v else state.unplug(vid),
        "soc_percent": lambda v: state.set_soc(vid, float(v)),
        "charge_limit_percent": lambda v: state.set_charge_limit(vid, float(v)),
        "reachable": lambda v: state.set_reachable(vid, bool(v)),
        "smart_charging_enabled": lambda v: state.set_smart_charging(vid, enabled=bool(v)),
        "smart_charging_deadline": lambda v: state.set_smart_charging(vid, deadline=str(v)),
        "reports_location": lambda v: state.set_reports_location(vid, bool(v)),
    }
    unknown = set(body) - set(setters)
    if unknown:
        known = sorted([*setters, *_MOVE_KEYS])
        raise ValueError(f"unknown keys {sorted(unknown)}; use {known}")
    for key, value in body.items():
        setters[key](value)
    return vehicle_view(state, state.vehicle(vid))


def _cid(request: Request) -> str:
    return str(request.path_params["chargerId"])


async def list_chargers(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return [charger_view(state, state.charger(c)) for c in list(state.chargers)]


async def get_charger(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return charger_view(state, state.charger(_cid(request)))


async def add_charger(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    user_id = body.pop("user_id")
    return charger_view(state, state.add_charger(str(user_id), **body))


async def plug_charger(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    vehicle_id = body.get("vehicle_id")
    charger = state.plug_charger(_cid(request), None if vehicle_id is None else str(vehicle_id))
    return charger_view(state, charger)


async def unplug_charger(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return charger_view(state, state.unplug_charger(_cid(request)))


async def patch_charger(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    unknown = set(body) - {"reachable"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; use ['reachable']")
    charger = state.charger(_cid(request))
    if "reachable" in body:
        state.set_charger_reachable(charger.id, bool(body["reachable"]))
    return charger_view(state, charger)


_MOVE_NUMBERS = ("max_charge_kw", "latitude", "longitude")
_MOVE_KEYS = {"charging_location_id", *_MOVE_NUMBERS}


def _number(value: Any, key: str) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{key} must be a number")
    return None if value is None else float(value)


async def counters(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return {vid: asdict(c) for vid, c in state.counters.items()}


async def list_faults(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return [f.as_dict() for f in state.faults.all(state.now())]


async def add_fault(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    unknown = set(body) - _FAULT_FIELDS
    if unknown:
        raise ValueError(f"unknown fault keys {sorted(unknown)}; use {sorted(_FAULT_FIELDS)}")
    return state.add_fault(Fault(**body)).as_dict()


async def delete_fault(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return {"removed": state.remove_fault(int(request.path_params["faultId"]))}


async def clear_faults(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.clear_faults()
    return {"removed": "all"}


async def read_log(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    since = int(request.query_params.get("since", "0"))
    prefix = request.query_params.get("path_prefix", "")
    return [e.as_dict() for e in state.requests(path_prefix=prefix, since=since)]


async def list_commands(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    """Start/stop commands the sim received (from the request log), one small object each."""
    wanted = request.query_params.get("vehicle_id")
    found = []
    for entry in state.requests(path_prefix="/vehicles/"):
        if entry.method != "POST" or not entry.path.endswith("/charging"):
            continue
        if wanted is not None and entry.vehicle_id != wanted:
            continue
        try:
            action = json.loads(entry.request_body).get("action")
        except (ValueError, AttributeError):
            action = None
        found.append(
            {
                "sim_time": entry.sim_time.isoformat(),
                "vehicle_id": entry.vehicle_id,
                "action": action,
                "status": entry.status,
            }
        )
    return found


async def clear_log(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.clear_log()
    return {"cleared": True}


async def vendor_status(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.set_vendor_status(str(request.path_params["vendor"]), str(body["status"]))
    return state.vendor_status


async def set_ready(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.ready = bool(body["ready"])
    return {"ready": state.ready}


async def command_delay(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.set_command_delay(float(body["seconds"]), vendor=body.get("vendor"))
    return {"command_delays": state.command_delays}


async def user_token(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    scopes = tuple(body.get("scopes", ["all"]))
    issued = state.issue_user_token(str(request.path_params["userId"]), scopes)
    return asdict(issued)


async def revoke(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return {"revoked": state.revoke_user_tokens(str(request.path_params["userId"]))}


async def expire_tokens(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.expire_tokens()
    return {"expired": True}


async def link_denial(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    user_id = str(request.path_params["userId"])
    if request.method == "DELETE":
        state.allow_link(user_id)
    else:
        state.deny_link(
            user_id,
            error=str(body.get("error", "access_denied")),
            description=str(body.get("description", "The user denied access")),
        )
    return {"user_id": user_id, "denied": request.method != "DELETE"}


async def webhooks(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    return {
        "config": state.webhook,
        "deliveries": [_delivery(d) for d in state.firehose.deliveries],
    }


async def deliver_webhook(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    event = str(body.get("event", "user:vehicle:updated"))
    delivery = await state.deliver_webhook(str(body["vehicle_id"]), event=event)
    if delivery is None:
        raise ValueError("no firehose webhook is configured (PUT /webhooks/firehose first)")
    return _delivery(delivery)


async def location_power(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    raw = request.query_params.get("above_kw", "0")
    try:
        above_kw = float(raw)
    except ValueError:
        raise ValueError(f"above_kw must be a number of kW, got {raw!r}") from None
    return state.location_power(str(request.path_params["locationId"]), above_kw=above_kw)


async def reset_power(request: Request, state: SimState, body: dict[str, Any]) -> Any:
    state.reset_power()
    return {"reset": True}


def _delivery(delivery: Delivery) -> dict[str, Any]:
    data = asdict(delivery)
    data["sim_time"] = delivery.sim_time.isoformat()
    return data


def routes() -> list[Route]:
    table: list[tuple[str, ControlHandler, list[str]]] = [
        ("/info", info, ["GET"]),
        ("/vehicles", list_vehicles, ["GET"]),
        ("/vehicles", add_vehicle, ["POST"]),
        ("/vehicles/{vehicleId}", get_vehicle, ["GET"]),
        ("/vehicles/{vehicleId}", patch_vehicle, ["PATCH"]),
        ("/vehicles/{vehicleId}/plug", plug, ["POST"]),
        ("/vehicles/{vehicleId}/unplug", unplug, ["POST"]),
        ("/chargers", list_chargers, ["GET"]),
        ("/chargers", add_charger, ["POST"]),
        ("/chargers/{chargerId}", get_charger, ["GET"]),
        ("/chargers/{chargerId}", patch_charger, ["PATCH"]),
        ("/chargers/{chargerId}/plug", plug_charger, ["POST"]),
        ("/chargers/{chargerId}/unplug", unplug_charger, ["POST"]),
        ("/counters", counters, ["GET"]),
        ("/faults", list_faults, ["GET"]),
        ("/faults", add_fault, ["POST"]),
        ("/faults", clear_faults, ["DELETE"]),
        ("/faults/{faultId:int}", delete_fault, ["DELETE"]),
        ("/log", read_log, ["GET"]),
        ("/log", clear_log, ["DELETE"]),
        ("/commands", list_commands, ["GET"]),
        ("/vendors/{vendor}/status", vendor_status, ["PUT"]),
        ("/ready", set_ready, ["PUT"]),
        ("/command-delay", command_delay, ["PUT"]),
        ("/users/{userId}/token", user_token, ["POST"]),
        ("/users/{userId}/revoke", revoke, ["POST"]),
        ("/users/{userId}/link-denial", link_denial, ["PUT", "DELETE"]),
        ("/tokens/expire", expire_tokens, ["POST"]),
        ("/webhooks", webhooks, ["GET"]),
        ("/webhooks/deliver", deliver_webhook, ["POST"]),
        ("/locations/{locationId}/power", location_power, ["GET"]),
        ("/power", reset_power, ["DELETE"]),
    ]
    return [Route("/_sim" + path, control(fn), methods=methods) for path, fn, methods in table]
