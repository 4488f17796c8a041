"""Charging locations for plans, shared by the CLI and the API.

A plan acts only at its charging location. This module checks that a plan names a real car of
its user, resolves the location a plan names (an id or a name), and keeps plans right when
locations come and go: the first location of a user is adopted by their plans without one, and
plans lose a location that is removed (they are then not controlled, and say so).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from enode_scheduler.exceptions import EnodeNotFound, InvalidInput, NeedsRelink
from enode_scheduler.ports import (
    ChargerStore,
    EnodeApi,
    EnodeLocations,
    LocationStore,
    PlanStore,
    VehicleStore,
)
from enode_scheduler.records import ChargerReading, ChargingLocation, VehicleReading

R = TypeVar("R", VehicleReading, ChargerReading)


@dataclass(frozen=True, slots=True)
class PlanPlaces:
    """The stores a plan's car and location are checked against, and Enode (None: offline;
    `EnodeClient` is both)."""

    vehicles: VehicleStore
    plans: PlanStore
    locations: LocationStore
    enode: EnodeApi | None = None
    enode_locations: EnodeLocations | None = None
    # Chargers of plans through a charger; None: such plans are not checked here.
    chargers: ChargerStore | None = None


class UnknownVehicle(InvalidInput):
    """The vehicle is not known for that user (not stored, and Enode does not know it)."""


class UnknownCharger(InvalidInput):
    """The charger is not known for that user (not stored, and Enode does not know it)."""


class UnknownLocation(InvalidInput):
    """The user has no charging location by that id or name (or several by that name)."""


async def check_vehicle(places: PlanPlaces, vehicle_id: str, user_id: str) -> VehicleReading:
    """The car's reading if it belongs to `user_id`: stored vehicles first, else one read
    through Enode (stored, so the daemon and the API know the car from then on)."""
    enode = places.enode
    return await _check_device(
        "vehicle", UnknownVehicle, vehicle_id, user_id,
        stored=(await places.vehicles.latest_readings([vehicle_id])).get(vehicle_id),
        fetch=None if enode is None else lambda: enode.get_vehicle(user_id, vehicle_id),
        save=lambda reading: places.vehicles.save_readings([reading]),
    )  # fmt: skip


async def check_charger(places: PlanPlaces, charger_id: str, user_id: str) -> ChargerReading | None:
    """The charger's reading if it belongs to `user_id`, like `check_vehicle`; None when these
    places keep no chargers (nothing to check against)."""
    chargers, enode = places.chargers, places.enode
    if chargers is None:
        return None
    return await _check_device(
        "charger", UnknownCharger, charger_id, user_id,
        stored=(await chargers.latest_charger_readings([charger_id])).get(charger_id),
        fetch=None if enode is None else lambda: enode.get_charger(user_id, charger_id),
        save=lambda reading: chargers.save_charger_readings([reading]),
    )  # fmt: skip


async def _check_device(
    kind: str,
    unknown: type[InvalidInput],
    device_id: str,
    user_id: str,
    *,
    stored: R | None,
    fetch: Callable[[], Awaitable[R]] | None,
    save: Callable[[R], Awaitable[None]],
) -> R:
    if stored is not None:
        if stored.user_id != user_id:
            owner = stored.user_id
            raise unknown(f"{kind} {device_id!r} belongs to user {owner!r}, not {user_id!r}")
        return stored
    if fetch is None:
        raise unknown(
            f"unknown {kind} {device_id!r}: not seen yet, and Enode is not configured to ask"
        )
    try:
        reading = await fetch()
    except EnodeNotFound as exc:
        raise unknown(
            f"unknown {kind} {device_id!r}: Enode has no such {kind} for user {user_id!r}"
        ) from exc
    except NeedsRelink as exc:
        raise unknown(
            f"unknown {kind} {device_id!r}: user {user_id!r} is not linked to Enode"
        ) from exc
    await save(reading)
    return reading


async def list_locations(
    places: PlanPlaces, user_id: str, *, refresh: bool = True
) -> list[ChargingLocation]:
    """The user's charging locations: fetched from Enode (and stored) when it can be asked and
    `refresh` is set, else the stored copy."""
    if refresh and places.enode_locations is not None:
        fresh = await places.enode_locations.list_locations(user_id)
        await places.locations.replace_locations(user_id, fresh)
    return await places.locations.list_locations(user_id)


def find_location(locations: Sequence[ChargingLocation], ref: str) -> ChargingLocation | None:
    """The location with id `ref`, else the one named `ref` (case-insensitive); UnknownLocation
    when two share that name."""
    for loc in locations:
        if loc.location_id == ref:
            return loc
    named = [loc for loc in locations if (loc.name or "").casefold() == ref.casefold()]
    if len(named) > 1:
        raise UnknownLocation(f"location: {len(named)} locations are named {ref!r}; use an id")
    return named[0] if named else None


def _names(locations: Sequence[ChargingLocation]) -> str:
    return ", ".join(f"{loc.name or '?'} ({loc.location_id})" for loc in locations) or "none"


async def resolve_location(places: PlanPlaces, user_id: str, ref: str | None) -> str | None:
    """The id of the location a plan names (`ref`: an id or a name); with no `ref`, the user's
    only location, or None when they have none. Stored locations first, then Enode's."""
    stored = await places.locations.list_locations(user_id)
    found = find_location(stored, ref) if ref is not None else None
    settled = found is not None or (ref is None and len(stored) == 1)
    if not settled and places.enode_locations is not None:
        stored = await list_locations(places, user_id)
        found = find_location(stored, ref) if ref is not None else None
    if ref is not None:
        if found is None:
            raise UnknownLocation(
                f"location: user {user_id!r} has no charging location {ref!r} "
                f"(known: {_names(stored)})"
            )
        return found.location_id
    if len(stored) > 1:
        raise UnknownLocation(
            f"location: user {user_id!r} has {len(stored)} charging locations; name one "
            f"({_names(stored)})"
        )
    return stored[0].location_id if stored else None


def no_location_note(user_id: str, vehicle_id: str) -> str:
    """The one line telling a user why their car is not controlled, and what to do."""
    return (
        f"note: user {user_id!r} has no charging location, so {vehicle_id} will not be "
        f"controlled until one exists; add one with `enode-scheduler locations add --user "
        f"{user_id} --name Home --from-vehicle {vehicle_id}` (while the car is there)"
    )


async def add_location(
    places: PlanPlaces,
    user_id: str,
    *,
    name: str,
    latitude: float | None = None,
    longitude: float | None = None,
    from_vehicle: str | None = None,
) -> tuple[ChargingLocation, list[str]]:
    """Create a charging location at Enode (at the car's position with `from_vehicle`) and store
    it; returns it and the vehicles whose plans adopted it (a user's first location)."""
    enode = places.enode_locations
    if enode is None:
        raise InvalidInput("adding a charging location needs Enode: set enode.client_id")
    if not name.strip():
        raise InvalidInput("--name: must not be empty")
    if from_vehicle is not None:
        await check_vehicle(places, from_vehicle, user_id)
        position = await enode.vehicle_position(user_id, from_vehicle)
        if position is None:
            raise InvalidInput(
                f"--from-vehicle: {from_vehicle}'s vendor does not report its position; "
                "give --lat and --lon"
            )
        latitude, longitude = position
    if latitude is None or longitude is None:
        raise InvalidInput("give --from-vehicle VEHICLE, or both --lat and --lon")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput(f"--lat/--lon: {latitude}, {longitude} is not a place on Earth")
    made = await enode.create_location(
        user_id, name=name.strip(), latitude=latitude, longitude=longitude
    )
    await places.locations.put_location(made)
    adopted: list[str] = []
    # Counted on Enode's list: our copy may not know locations made elsewhere.
    if len(await list_locations(places, user_id)) == 1:
        for plan in await places.plans.list_plans():
            if plan.user_id == user_id and plan.location_id is None:
                await places.plans.put_plan(dataclasses.replace(plan, location_id=made.location_id))
                adopted.append(plan.vehicle_id)
    return made, adopted


async def remove_location(
    places: PlanPlaces, user_id: str, ref: str
) -> tuple[ChargingLocation, list[str]]:
    """Delete a charging location (by id or name) at Enode and here; returns it and the
    vehicles whose plans named it (they are no longer controlled until given another)."""
    enode = places.enode_locations
    if enode is None:
        raise InvalidInput("removing a charging location needs Enode: set enode.client_id")
    found = find_location(await list_locations(places, user_id), ref)
    if found is None:
        raise UnknownLocation(f"user {user_id!r} has no charging location {ref!r}")
    # Gone at Enode already: forget it here too.
    with contextlib.suppress(EnodeNotFound):
        await enode.delete_location(user_id, found.location_id)
    await places.locations.delete_location(found.location_id)
    orphaned: list[str] = []
    for plan in await places.plans.list_plans():
        if plan.location_id == found.location_id:
            await places.plans.put_plan(dataclasses.replace(plan, location_id=None))
            orphaned.append(plan.vehicle_id)
    return found, orphaned
