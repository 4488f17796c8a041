"""Everything the sim knows, and the in-process handles tests and the demo use to steer it.

All methods run on the server's event loop (or, in tests, the same loop), so no locks.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict, deque
from datetime import datetime
from typing import Any

from enode_scheduler.clock import Clock
from enode_scheduler.sim.auth import AuthStore, IssuedTokens
from enode_scheduler.sim.charger import SimCharger
from enode_scheduler.sim.config import SPEC_VENDORS, SimConfig
from enode_scheduler.sim.faults import Fault, FaultBook
from enode_scheduler.sim.fleet import build_fleet, new_charger, new_vehicle, seeded_uuid
from enode_scheduler.sim.power import ChargeSpan, location_load
from enode_scheduler.sim.records import LinkDenial, LogEntry, UserRecord, VehicleCounters
from enode_scheduler.sim.shapes import VEHICLE_FIELDS, vehicle_body
from enode_scheduler.sim.vehicle import Action, SimVehicle
from enode_scheduler.sim.webhooks import Delivery, Firehose

__all__ = [
    "VENDOR_STATUSES",
    "LogEntry",
    "SimState",
    "UnknownCharger",
    "UnknownVehicle",
    "VehicleCounters",
]

VENDOR_STATUSES = ("READY", "ELEVATED_ERROR_RATE", "OUTAGE")


class UnknownVehicle(KeyError):
    """No vehicle with that id."""


class UnknownCharger(KeyError):
    """No charger with that id."""


class SimState:
    """Users, vehicles, tokens, faults and the request log of one sim run."""

    def __init__(self, config: SimConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.auth = AuthStore(
            access_ttl_s=config.access_token_ttl_s,
            client_ttl_s=config.client_token_ttl_s,
            rotate=config.rotate_refresh_tokens,
        )
        self.faults = FaultBook()
        self.users: dict[str, UserRecord] = {}
        for user_id in config.user_id_list():
            self.add_user(user_id)
        self.vehicles: dict[str, SimVehicle] = {}
        self.chargers: dict[str, SimCharger] = {}
        # Device ids by owner: a user's requests must not scan a fleet of 100,000 cars.
        self._vehicles_of: defaultdict[str, list[str]] = defaultdict(list)
        self._chargers_of: defaultdict[str, list[str]] = defaultdict(list)
        for vehicle in build_fleet(config, now=clock.now()):
            # Every car starts at its owner's home charging location.
            self._register(vehicle)
            vehicle.charging_location_id = self.home_location_id(vehicle.user_id)
        self.counters: dict[str, VehicleCounters] = {v: VehicleCounters() for v in self.vehicles}
        self.log: deque[LogEntry] = deque(maxlen=config.request_log_size)
        self.vendor_status: dict[str, str] = dict.fromkeys(SPEC_VENDORS, "READY")
        self.invalid_links: set[tuple[str, str]] = set()
        self.command_delays: dict[str, float] = {}
        self.ready = True
        self.firehose = Firehose(clock)
        self.shutdown = asyncio.Event()
        self._seq = 0

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The firehose webhook as configured through the API, or None."""
        if self.firehose.url is None:
            return None
        return {"url": self.firehose.url, "secret": self.firehose.secret}

    async def deliver_webhook(
        self, vehicle_id: str, *, event: str = "user:vehicle:updated"
    ) -> Delivery | None:
        """Send one event about the vehicle to the firehose now (None when none is set)."""
        return await self.firehose.deliver([self._event(vehicle_id, event)])

    def _event(self, vehicle_id: str, event: str) -> dict[str, Any]:
        vehicle = self.vehicle(vehicle_id)
        return self.firehose.vehicle_event(
            event, vehicle.user_id, vehicle_body(vehicle, list(VEHICLE_FIELDS))
        )

    def _notify(self, vehicle_id: str, *, after_s: float = 0.0) -> None:
        # Built when sent, so a command's event shows the car after it acted.
        if vehicle_id in self.vehicles:
            self.firehose.send_later(
                after_s, lambda: [self._event(vehicle_id, "user:vehicle:updated")]
            )

    # ---- vehicles -------------------------------------------------------------------------
    def vehicle(self, vehicle_id: str) -> SimVehicle:
        """The vehicle brought up to the sim's `now`; UnknownVehicle when there is none."""
        found = self.vehicles.get(vehicle_id)
        if found is None:
            raise UnknownVehicle(vehicle_id)
        found.advance(self.now())
        return found

    def user_vehicles(self, user_id: str) -> list[SimVehicle]:
        return [self.vehicle(vid) for vid in self._vehicles_of.get(user_id, ())]

    def user_vendors(self, user_id: str) -> set[str]:
        cars = {self.vehicles[vid].vendor for vid in self._vehicles_of.get(user_id, ())}
        return cars | {self.chargers[cid].vendor for cid in self._chargers_of.get(user_id, ())}

    def plug(self, vehicle_id: str) -> SimVehicle:
        return self._set_plugged(vehicle_id, plugged=True)

    def unplug(self, vehicle_id: str) -> SimVehicle:
        return self._set_plugged(vehicle_id, plugged=False)

    def set_soc(self, vehicle_id: str, soc_percent: float) -> SimVehicle:
        vehicle = self.vehicle(vehicle_id)
        vehicle.set_soc(soc_percent, now=self.now())
        self._notify(vehicle_id)
        return vehicle

    def set_charge_limit(self, vehicle_id: str, limit_percent: float) -> SimVehicle:
        vehicle = self.vehicle(vehicle_id)
        vehicle.set_charge_limit(limit_percent, now=self.now())
        self._notify(vehicle_id)
        return vehicle

    def set_reachable(self, vehicle_id: str, reachable: bool) -> SimVehicle:
        vehicle = self.vehicle(vehicle_id)
        vehicle.reachable = reachable
        self._notify(vehicle_id)
        return vehicle

    def set_smart_charging(
        self, vehicle_id: str, *, enabled: bool | None = None, deadline: str | None = None
    ) -> SimVehicle:
        """Switch Enode's own smart charging; `deadline` is HH:MM in UTC."""
        vehicle = self.vehicle(vehicle_id)
        vehicle.set_smart_charging(enabled=enabled, deadline=deadline, now=self.now())
        self._notify(vehicle_id)
        return vehicle

    def command(self, vehicle_id: str, action: Action) -> None:
        """A START/STOP as the API receives it: counted, then applied after the vendor delay."""
        vehicle = self.vehicle(vehicle_id)
        counters = self.counters[vehicle_id]
        counters.commands_received += 1
        if action == "START":
            counters.starts += 1
        else:
            counters.stops += 1
        delay_s = self.command_delay(vehicle.vendor)
        vehicle.command(action, now=self.now(), delay_s=delay_s)
        self._notify(vehicle_id, after_s=delay_s)

    def command_delay(self, vendor: str) -> float:
        if vendor in self.command_delays:
            return self.command_delays[vendor]
        if "*" in self.command_delays:
            return self.command_delays["*"]
        return self.config.command_delay_for(vendor)

    def set_command_delay(self, seconds: float, *, vendor: str | None = None) -> None:
        """Delay (sim seconds) before a car acts on a command; `vendor=None` sets all vendors."""
        if vendor is None:
            self.command_delays.clear()
        self.command_delays[vendor or "*"] = seconds

    def move(
        self,
        vehicle_id: str,
        *,
        charging_location_id: str | None,
        max_charge_kw: float | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> SimVehicle:
        """Put the car at a charging location (None: at none, e.g. a public fast charger), and
        optionally at a charger of another power or at another position (what the vehicle's
        `location` field reports)."""
        vehicle = self.vehicle(vehicle_id)
        vehicle.charging_location_id = charging_location_id
        if max_charge_kw is not None:
            if not max_charge_kw > 0:
                raise ValueError("max_charge_kw must be above 0")
            vehicle.max_charge_kw = max_charge_kw
        if latitude is not None:
            vehicle.latitude = latitude
        if longitude is not None:
            vehicle.longitude = longitude
        self._notify(vehicle_id)
        return vehicle

    def location_power(self, location_id: str, *, above_kw: float) -> dict[str, float]:
        """The summed charging power at the location since start or the last reset: its peak
        and the sim seconds it was above `above_kw`."""
        spans: list[ChargeSpan] = []
        for vid in list(self.vehicles):
            spans.extend(s for s in self.vehicle(vid).charged if s.location_id == location_id)
        peak_kw, seconds_above = location_load(spans, above_kw=above_kw)
        return {"peak_kw": peak_kw, "seconds_above": seconds_above}

    def reset_power(self) -> None:
        """Forget every car's charging history (the power answers count from now)."""
        for vid in list(self.vehicles):
            self.vehicle(vid).charged.clear()

    def set_reports_location(self, vehicle_id: str, reports: bool) -> SimVehicle:
        vehicle = self.vehicle(vehicle_id)
        vehicle.reports_location = reports
        self._notify(vehicle_id)
        return vehicle

    def add_vehicle(self, user_id: str, *, vendor: str = "TESLA", **fields: Any) -> SimVehicle:
        """A new car for `user_id` (created if needed), at the user's home charging location
        unless `fields` say otherwise; `fields` override SimVehicle attributes."""
        self.add_user(user_id)
        fields.setdefault("charging_location_id", self.home_location_id(user_id))
        seed = self.config.seed * 1_000_003 + len(self.vehicles)
        vehicle = new_vehicle(
            self.config, user_id, vendor=vendor, seed=seed, now=self.now(), **fields
        )
        self._register(vehicle)
        self.counters[vehicle.id] = VehicleCounters()
        return vehicle

    def give_new_user_vehicles(self, user_id: str) -> None:
        """On a completed link, hand a user without cars `config.vehicles_on_link` of them."""
        if self._vehicles_of.get(user_id):
            return
        vendors = self.config.vendors
        for index in range(self.config.vehicles_on_link):
            vendor = vendors[(len(self.vehicles) + index) % len(vendors)].vendor
            self.add_vehicle(user_id, vendor=vendor)

    # ---- chargers -------------------------------------------------------------------------
    def charger(self, charger_id: str) -> SimCharger:
        """The charger (and the car plugged into it) brought up to `now`; UnknownCharger if none."""
        found = self.chargers.get(charger_id)
        if found is None:
            raise UnknownCharger(charger_id)
        found.advance(self.now(), self.charger_car(found))
        return found

    def charger_car(self, charger: SimCharger) -> SimVehicle | None:
        """The simulated car on the charger's cable, if any (and still there)."""
        if charger.vehicle_id is None:
            return None
        return self.vehicles.get(charger.vehicle_id)

    def user_chargers(self, user_id: str) -> list[SimCharger]:
        return [self.charger(cid) for cid in self._chargers_of.get(user_id, ())]

    def add_charger(self, user_id: str, *, vendor: str = "EASEE", **fields: Any) -> SimCharger:
        """A new charger for `user_id` (created if needed); `fields` override attributes."""
        self.add_user(user_id)
        seed = self.config.seed * 1_000_033 + len(self.chargers)
        charger = new_charger(user_id, vendor=vendor, seed=seed, now=self.now(), **fields)
        if (old := self.chargers.get(charger.id)) is not None:
            self._chargers_of[old.user_id].remove(old.id)
        self.chargers[charger.id] = charger
        self._chargers_of[user_id].append(charger.id)
        self.counters[charger.id] = VehicleCounters()
        return charger

    def plug_charger(self, charger_id: str, vehicle_id: str | None = None) -> SimCharger:
        """Plug a car into the charger: the simulated `vehicle_id`, or an anonymous one."""
        charger = self.charger(charger_id)
        if vehicle_id is None:
            charger.vehicle_id, charger.plugged_in = None, True
            return charger
        car = self.vehicle(vehicle_id)
        charger.vehicle_id, charger.counted_soc_percent = car.id, car.soc_percent
        # A wallbox that lets power flow charges the car as it is plugged in; one told to stop
        # holds it.
        car.set_plugged(True, now=self.now(), charge_on_plug=charger.enabled)
        if not charger.enabled:
            car.charging, car.reasons = False, ["MANUALLY_STOPPED"]
        self._notify(car.id)
        return charger

    def unplug_charger(self, charger_id: str) -> SimCharger:
        charger = self.charger(charger_id)
        car = self.charger_car(charger)
        if car is not None:
            car.set_plugged(False, now=self.now(), charge_on_plug=False)
            self._notify(car.id)
        charger.vehicle_id, charger.plugged_in, charger.counted_soc_percent = None, False, None
        return charger

    def set_charger_reachable(self, charger_id: str, reachable: bool) -> SimCharger:
        charger = self.charger(charger_id)
        charger.reachable = reachable
        return charger

    def charger_command(self, charger_id: str, action: Action) -> None:
        """A START/STOP to a charger: counted, then applied after its vendor's delay."""
        charger = self.charger(charger_id)
        counters = self.counters[charger_id]
        counters.commands_received += 1
        if action == "START":
            counters.starts += 1
        else:
            counters.stops += 1
        delay_s = self.command_delay(charger.vendor)
        charger.command(action, now=self.now(), delay_s=delay_s, car=self.charger_car(charger))

    # ---- users and tokens -----------------------------------------------------------------
    def add_user(self, user_id: str) -> UserRecord:
        """The user, created with one charging location, "Home", if new."""
        found = self.users.get(user_id)
        if found is None:
            found = self.users[user_id] = UserRecord(user_id)
            rng = random.Random(f"{self.config.seed}-{user_id}-home")  # noqa: S311
            home_id = seeded_uuid(rng)
            found.locations[home_id] = {
                "id": home_id, "name": "Home", "latitude": 59.91, "longitude": 10.75,
            }  # fmt: skip
        return found

    def home_location_id(self, user_id: str) -> str | None:
        """The id of the user's first charging location (their home), None when they have none."""
        locations = self.add_user(user_id).locations
        return next(iter(locations), None)

    def delete_user(self, user_id: str) -> None:
        """Enode's unlink: the user, their vehicles and tokens are gone."""
        self.users.pop(user_id, None)
        for vehicle_id in self._vehicles_of.pop(user_id, []):
            del self.vehicles[vehicle_id]
        for charger_id in self._chargers_of.pop(user_id, []):
            del self.chargers[charger_id]
        self.auth.revoke_user(user_id)

    def issue_user_token(self, user_id: str, scopes: tuple[str, ...] = ("all",)) -> IssuedTokens:
        """Tokens as if `user_id` had gone through the link flow (skips the browser dance)."""
        self.add_user(user_id)
        return self.auth.issue_user(user_id, frozenset(scopes), now=self.now())

    def revoke_user_tokens(self, user_id: str) -> int:
        return self.auth.revoke_user(user_id)

    def expire_tokens(self) -> None:
        self.auth.expire_all()

    def deny_link(
        self, user_id: str, *, error: str = "access_denied", description: str = "Denied"
    ) -> None:
        """The authorize page answers this user's link attempts with `error`."""
        self.add_user(user_id).link_denial = LinkDenial(error, description)

    def allow_link(self, user_id: str) -> None:
        self.add_user(user_id).link_denial = None

    # ---- faults and health ----------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        return self.faults.add(fault, now=self.now())

    def remove_fault(self, fault_id: int) -> bool:
        return self.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.faults.clear()

    def invalidate_link(self, user_id: str, vendor: str, *, valid: bool = False) -> None:
        """GET /me shows the user's link to `vendor` with `isValid: false` (true again with
        `valid`): the user must link again."""
        if valid:
            self.invalid_links.discard((user_id, vendor))
        else:
            self.invalid_links.add((user_id, vendor))

    def set_vendor_status(self, vendor: str, status: str) -> None:
        if status not in VENDOR_STATUSES:
            raise ValueError(f"vendor status must be one of {VENDOR_STATUSES}, not {status!r}")
        if vendor not in SPEC_VENDORS:
            raise ValueError(f"vendor must be one of {SPEC_VENDORS}, not {vendor!r}")
        self.vendor_status[vendor] = status

    # ---- request log ----------------------------------------------------------------------
    def record(self, **fields: Any) -> LogEntry:
        self._seq += 1
        entry = LogEntry(seq=self._seq, sim_time=self.now(), **fields)
        self.log.append(entry)
        return entry

    def requests(self, *, path_prefix: str = "", since: int = 0) -> list[LogEntry]:
        """Logged requests under `path_prefix` with a sequence number above `since`, in order."""
        # Newest last: walking back from the end reads only what is new to a reader that polls.
        newer: list[LogEntry] = []
        for entry in reversed(self.log):
            if entry.seq <= since:
                break
            if entry.path.startswith(path_prefix):
                newer.append(entry)
        newer.reverse()
        return newer

    def clear_log(self) -> None:
        self.log.clear()

    def _register(self, vehicle: SimVehicle) -> None:
        old = self.vehicles.get(vehicle.id)
        if old is not None:
            self._vehicles_of[old.user_id].remove(old.id)
        self.vehicles[vehicle.id] = vehicle
        self._vehicles_of[vehicle.user_id].append(vehicle.id)
        self.add_user(vehicle.user_id)

    def _set_plugged(self, vehicle_id: str, *, plugged: bool) -> SimVehicle:
        vehicle = self.vehicle(vehicle_id)
        vehicle.set_plugged(plugged, now=self.now(), charge_on_plug=self.config.charge_on_plug)
        self._notify(vehicle_id)
        return vehicle
