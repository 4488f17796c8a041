"""EnodeClient: one method per Enode endpoint the scheduler uses; the only code with Enode URLs."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from enode_scheduler.clock import Clock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode import wire
from enode_scheduler.enode.auth import ClientToken, TokenEndpoint, UserTokenManager
from enode_scheduler.enode.backoff import GateBook
from enode_scheduler.enode.link import LinkFlow, LinkSession
from enode_scheduler.enode.metrics import EnodeMetrics
from enode_scheduler.enode.transport import Call, Transport
from enode_scheduler.exceptions import EnodeServerError
from enode_scheduler.ports import LinkStateStore, TokenStore
from enode_scheduler.records import ChargeAction, ChargerReading, ChargingLocation, VehicleReading

if TYPE_CHECKING:
    from enode_scheduler.ports import EnodeApi, EnodeLocations

# What the scheduler reads on every poll: state, Enode's own smart charging, the brand, and the
# position (only whether there is one is kept: it tells "at no charging location" from "the
# vendor does not say").
READING_FIELDS = ("chargeState", "smartChargingPolicy", "information", "location")

_VEHICLES = TypeAdapter(list[wire.Vehicle])
_CHARGERS = TypeAdapter(list[wire.Charger])
# A charger poll needs only its charge state (the spec's enum has no `information`).
CHARGER_READING_FIELDS = ("chargeState",)
_VENDORS = TypeAdapter(list[wire.VendorHealth])
_LOCATIONS = TypeAdapter(list[wire.ChargingLocation])


def _seg(value: str) -> str:
    return quote(value, safe="")


class EnodeClient:
    """The Enode API for the daemon and the CLI; implements `ports.EnodeApi` and more.

    Every request passes the (user, vendor) cooldown gate and the global pace limit; GETs retry
    transient failures, START/STOP is sent at most once per call.
    """

    def __init__(
        self,
        settings: EnodeSettings,
        *,
        http: httpx.AsyncClient,
        token_store: TokenStore,
        clock: Clock,
        rng: random.Random | None = None,
        metrics: EnodeMetrics | None = None,
        link_states: LinkStateStore | None = None,
    ) -> None:
        self.metrics = metrics or EnodeMetrics()
        endpoint = TokenEndpoint(http, settings, clock=clock, metrics=self.metrics)
        self._users = UserTokenManager(endpoint, token_store, clock=clock, metrics=self.metrics)
        self._transport = Transport(
            http,
            settings,
            clock=clock,
            client_token=ClientToken(endpoint, clock=clock),
            user_tokens=self._users,
            metrics=self.metrics,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not security
        )
        self.link = LinkFlow(
            settings,
            create_link_state=self.create_link_state,
            endpoint=endpoint,
            token_store=token_store,
            clock=clock,
            states=link_states,
        )
        self._vendor_of: dict[str, str] = {}
        self._vendors_of_user: dict[str, set[str]] = {}

    @property
    def gates(self) -> GateBook:
        return self._transport.gates

    def set_pace(self, max_requests_per_s: float) -> None:
        """This process's share of the fleet's request rate (it changes with its shards)."""
        self._transport.pacer.set_rate(max_requests_per_s)

    def guard_commands(self, guard: Callable[[str | None], None] | None) -> None:
        """Call `guard(user_id)` just before each start/stop goes out; it raises to drop it."""
        self._transport.send_guard = guard

    # -- ports.EnodeApi -------------------------------------------------------------------------

    async def list_vehicles(self, user_id: str) -> list[VehicleReading]:
        vehicles = await self.vehicles(user_id, fields=READING_FIELDS)
        return [wire.to_reading(v, user_id=user_id) for v in vehicles]

    async def get_vehicle(self, user_id: str, vehicle_id: str) -> VehicleReading:
        vehicle = await self.vehicle(user_id, vehicle_id, fields=READING_FIELDS)
        return wire.to_reading(vehicle, user_id=user_id)

    async def set_charging(
        self, user_id: str, vehicle_id: str, action: ChargeAction, *, vendor: str | None = None
    ) -> None:
        call = Call(
            "set_charging",
            "POST",
            f"/vehicles/{_seg(vehicle_id)}/charging",
            "user",
            user_id=user_id,
            vendor=vendor or self._vendor_of.get(vehicle_id),
            json={"action": ChargeAction(action).value},
            idempotent=False,
            fenced=True,
        )
        await self._transport.send(call)

    async def check_link(self, user_id: str) -> None:
        call = Call("get_me", "GET", "/me", "user", user_id=user_id)
        response = await self._transport.send(call)
        me = wire.parse(wire.Me, response.content, operation=call.operation)
        invalid = sorted(v.vendor for v in me.linked_vendors if not v.is_valid)
        if invalid:
            reason = f"Enode reports the link to {', '.join(invalid)} as no longer valid"
            raise await self._users.relink(user_id, reason=reason)

    async def list_chargers(self, user_id: str) -> list[ChargerReading]:
        chargers = await self.chargers(user_id, fields=CHARGER_READING_FIELDS)
        return [wire.to_charger_reading(c, user_id=user_id) for c in chargers]

    async def get_charger(self, user_id: str, charger_id: str) -> ChargerReading:
        charger = await self.charger(user_id, charger_id, fields=CHARGER_READING_FIELDS)
        return wire.to_charger_reading(charger, user_id=user_id)

    async def set_charger_charging(
        self, user_id: str, charger_id: str, action: ChargeAction, *, vendor: str | None = None
    ) -> None:
        call = Call(
            "set_charger_charging",
            "POST",
            f"/chargers/{_seg(charger_id)}/charging",
            "user",
            user_id=user_id,
            vendor=vendor or self._vendor_of.get(_charger_key(charger_id)),
            json={"action": ChargeAction(action).value},
            idempotent=False,
            fenced=True,
        )
        await self._transport.send(call)

    # -- chargers -------------------------------------------------------------------------------

    async def chargers(self, user_id: str, *, fields: Sequence[str] = ()) -> list[wire.Charger]:
        """GET /chargers with `field[]` selection."""
        call = Call(
            "list_chargers", "GET", "/chargers", "user", user_id=user_id, params=_fields(fields)
        )
        response = await self._transport.send(call)
        chargers = wire.parse(_CHARGERS, response.content, operation=call.operation)
        self._learn_charger_vendors(chargers)
        return chargers

    async def charger(
        self, user_id: str, charger_id: str, *, fields: Sequence[str] = ()
    ) -> wire.Charger:
        """GET /chargers/{id} with `field[]` selection."""
        call = Call(
            "get_charger",
            "GET",
            f"/chargers/{_seg(charger_id)}",
            "user",
            user_id=user_id,
            vendor=self._vendor_of.get(_charger_key(charger_id)),
            params=_fields(fields),
        )
        response = await self._transport.send(call)
        charger = wire.parse(wire.Charger, response.content, operation=call.operation)
        self._learn_charger_vendors([charger])
        return charger

    # -- vehicles -------------------------------------------------------------------------------

    async def vehicles(self, user_id: str, *, fields: Sequence[str] = ()) -> list[wire.Vehicle]:
        """GET /vehicles with `field[]` selection."""
        # A user whose cars are all of one make: the list waits at that vendor's gate (and its
        # outage pause) like a single car's read does.
        known = self._vendors_of_user.get(user_id, set())
        call = Call(
            "list_vehicles", "GET", "/vehicles", "user", user_id=user_id, params=_fields(fields),
            vendor=next(iter(known)) if len(known) == 1 else None,
        )  # fmt: skip
        response = await self._transport.send(call)
        vehicles = wire.parse(_VEHICLES, response.content, operation=call.operation)
        self._learn_vendors(vehicles)
        self._vendors_of_user[user_id] = {v for v in (x.vendor() for x in vehicles) if v}
        return vehicles

    async def vehicle(
        self, user_id: str, vehicle_id: str, *, fields: Sequence[str] = ()
    ) -> wire.Vehicle:
        """GET /vehicles/{id} with `field[]` selection."""
        call = self._user_get("get_vehicle", user_id, vehicle_id, "", params=_fields(fields))
        response = await self._transport.send(call)
        vehicle = wire.parse(wire.Vehicle, response.content, operation=call.operation)
        self._learn_vendors([vehicle])
        return vehicle

    async def charge_state(self, user_id: str, vehicle_id: str) -> wire.ChargeState:
        call = self._user_get("charge_state", user_id, vehicle_id, "/charge-state")
        response = await self._transport.send(call)
        return wire.parse(wire.ChargeState, response.content, operation=call.operation)

    async def smart_charging_policy(
        self, user_id: str, vehicle_id: str
    ) -> wire.SmartChargingPolicy:
        call = self._user_get("get_policy", user_id, vehicle_id, "/smart-charging-policy")
        response = await self._transport.send(call)
        return wire.parse(wire.SmartChargingPolicy, response.content, operation=call.operation)

    async def put_smart_charging_policy(
        self, user_id: str, vehicle_id: str, *, is_enabled: bool, deadline: str | None = None
    ) -> wire.SmartChargingPolicy:
        """Set Enode's own smart charging (e.g. switch it off so it does not fight ours)."""
        body: dict[str, object] = {"isEnabled": is_enabled}
        if deadline is not None:
            body["deadline"] = deadline
        call = Call(
            "put_policy",
            "PUT",
            f"/vehicles/{_seg(vehicle_id)}/smart-charging-policy",
            "user",
            user_id=user_id,
            vendor=self._vendor_of.get(vehicle_id),
            json=body,
        )
        response = await self._transport.send(call)
        return wire.parse(wire.SmartChargingPolicy, response.content, operation=call.operation)

    async def watch(self, user_id: str, vehicle_id: str, *, watched: str = "IS_CHARGING") -> None:
        """Ask Enode for high-rate updates of one property for a while (spec: a single value)."""
        call = Call(
            "watch",
            "POST",
            f"/vehicles/{_seg(vehicle_id)}/watch",
            "user",
            user_id=user_id,
            vendor=self._vendor_of.get(vehicle_id),
            json={"properties": watched},
            idempotent=False,
        )
        await self._transport.send(call)

    async def charging_locations(self, user_id: str) -> list[wire.ChargingLocation]:
        call = Call("charging_locations", "GET", "/charging-locations", "user", user_id=user_id)
        response = await self._transport.send(call)
        return wire.parse(_LOCATIONS, response.content, operation=call.operation)

    # -- ports.EnodeLocations -------------------------------------------------------------------

    async def list_locations(self, user_id: str) -> list[ChargingLocation]:
        found = await self.charging_locations(user_id)
        return [wire.to_location(loc, user_id=user_id) for loc in found]

    async def create_location(
        self, user_id: str, *, name: str, latitude: float, longitude: float
    ) -> ChargingLocation:
        body = {"name": name, "latitude": latitude, "longitude": longitude}
        call = Call(
            "create_location", "POST", "/charging-locations", "user", user_id=user_id, json=body,
            idempotent=False,
        )  # fmt: skip
        response = await self._transport.send(call)
        made = wire.parse(wire.ChargingLocation, response.content, operation=call.operation)
        return wire.to_location(made, user_id=user_id)

    async def delete_location(self, user_id: str, location_id: str) -> None:
        path = f"/charging-locations/{_seg(location_id)}"
        # Not retried: a retry after a lost answer would report the deleted location missing.
        call = Call("delete_location", "DELETE", path, "user", user_id=user_id, idempotent=False)
        await self._transport.send(call)

    async def vehicle_position(self, user_id: str, vehicle_id: str) -> tuple[float, float] | None:
        vehicle = await self.vehicle(user_id, vehicle_id, fields=("location",))
        where = vehicle.location
        if where is None or where.latitude is None or where.longitude is None:
            return None
        return where.latitude, where.longitude

    # -- health ---------------------------------------------------------------------------------

    async def health_ready(self) -> bool:
        """True on 204; False when Enode answers 503 (not an error: a state)."""
        call = Call("health_ready", "GET", "/health/ready", "none", idempotent=False)
        try:
            await self._transport.send(call)
        except EnodeServerError as exc:
            if exc.status == 503:
                return False
            raise
        return True

    async def vendor_health(self) -> list[wire.VendorHealth]:
        """GET /health/vendors; vendors in OUTAGE are paused until a later call clears them."""
        call = Call("vendor_health", "GET", "/health/vendors", "none")
        response = await self._transport.send(call)
        vendors = wire.parse(_VENDORS, response.content, operation=call.operation)
        self.gates.set_paused_vendors({v.vendor for v in vendors if v.status == "OUTAGE"})
        return vendors

    # -- user management (client token) --------------------------------------------------------

    async def create_link_state(self, user_id: str) -> str:
        """POST /users/{id}/link -> linkState."""
        call = self._client_call("link_user", "POST", f"/users/{_seg(user_id)}/link", json={})
        response = await self._transport.send(call)
        return wire.parse(wire.LinkResponse, response.content, operation=call.operation).link_state

    async def start_link(self, user_id: str) -> LinkSession:
        return await self.link.start(user_id)

    async def complete_link(self, params: Mapping[str, str], *, user_id: str | None = None) -> str:
        return await self.link.complete(params, user_id=user_id)

    async def deauthorize_user(self, user_id: str) -> None:
        """DELETE /users/{id}/authorization: drop vendor credentials and tokens, keep data."""
        path = f"/users/{_seg(user_id)}/authorization"
        await self._transport.send(self._client_call("deauthorize_user", "DELETE", path))

    async def delete_user(self, user_id: str) -> None:
        """DELETE /users/{id}: unlink the user and delete all their data at Enode."""
        call = self._client_call("delete_user", "DELETE", f"/users/{_seg(user_id)}")
        await self._transport.send(call)

    async def set_firehose_webhook(self, url: str, *, secret: str) -> None:
        """PUT /webhooks/firehose (experimental in the spec)."""
        body = {"url": url, "secret": secret}
        call = self._client_call("set_webhook", "PUT", "/webhooks/firehose", json=body)
        await self._transport.send(call)

    async def test_firehose_webhook(self) -> None:
        call = self._client_call("test_webhook", "POST", "/webhooks/firehose/test")
        await self._transport.send(call)

    # -- helpers --------------------------------------------------------------------------------

    def _user_get(
        self,
        operation: str,
        user_id: str,
        vehicle_id: str,
        suffix: str,
        *,
        params: list[tuple[str, str | int | float | bool | None]] | None = None,
    ) -> Call:
        return Call(
            operation,
            "GET",
            f"/vehicles/{_seg(vehicle_id)}{suffix}",
            "user",
            user_id=user_id,
            vendor=self._vendor_of.get(vehicle_id),
            params=params or [],
        )

    @staticmethod
    def _client_call(operation: str, method: str, path: str, *, json: object = None) -> Call:
        return Call(operation, method, path, "client", json=json, idempotent=method == "GET")

    def _learn_vendors(self, vehicles: Sequence[wire.Vehicle]) -> None:
        for vehicle in vehicles:
            vendor = vehicle.vendor()
            if vendor:
                self._vendor_of[vehicle.id] = vendor

    def _learn_charger_vendors(self, chargers: Sequence[wire.Charger]) -> None:
        for charger in chargers:
            vendor = charger.vendor()
            if vendor:
                self._vendor_of[_charger_key(charger.id)] = vendor


def _charger_key(charger_id: str) -> str:
    # Charger and vehicle ids come from different vendors: keep them apart in one map.
    return "charger:" + charger_id


def _fields(fields: Sequence[str]) -> list[tuple[str, str | int | float | bool | None]]:
    return [("field[]", name) for name in fields]


@asynccontextmanager
async def open_enode_client(
    settings: EnodeSettings,
    *,
    token_store: TokenStore,
    clock: Clock,
    http: httpx.AsyncClient | None = None,
    rng: random.Random | None = None,
    link_states: LinkStateStore | None = None,
) -> AsyncIterator[EnodeClient]:
    """An EnodeClient over `http`, or over its own pooled AsyncClient closed on exit."""
    if http is not None:
        yield EnodeClient(
            settings, http=http, token_store=token_store, clock=clock, rng=rng,
            link_states=link_states,
        )  # fmt: skip
        return
    timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
    async with httpx.AsyncClient(timeout=timeout) as own:
        yield EnodeClient(
            settings, http=own, token_store=token_store, clock=clock, rng=rng,
            link_states=link_states,
        )  # fmt: skip


if TYPE_CHECKING:
    # mypy proves the client implements the port exactly.
    def _implements_port(client: EnodeClient) -> None:
        _api: EnodeApi = client
        _locations: EnodeLocations = client
