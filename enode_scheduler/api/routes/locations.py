"""Charging-location routes: list, add and remove a user's locations (kept at Enode)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.convert import location_out
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.api.models import (
    LocationAdded,
    LocationId,
    LocationIn,
    LocationsOut,
    UserId,
)
from enode_scheduler.api.problems import responses
from enode_scheduler.api.routes.vehicles import Deps, plan_places
from enode_scheduler.service.locations import (
    PlanPlaces,
    add_location,
    list_locations,
    remove_location,
)

__all__ = ["location_router"]


async def _places(deps: ApiDeps, user_id: str) -> PlanPlaces:
    places = plan_places(deps)
    if places is None:
        raise HTTPException(503, "Charging locations are not available on this server.")
    if await deps.users.get_user(user_id) is None:
        raise HTTPException(404, f"No user {user_id!r} is known.")
    return places


def _needs_enode(deps: ApiDeps) -> None:
    if deps.enode_locations is None:
        raise HTTPException(503, "Enode is not configured, so locations cannot be changed.")


async def get_locations(user_id: UserId, deps: Deps) -> LocationsOut:
    """The user's charging locations (read from Enode when it is configured)."""
    found = await list_locations(await _places(deps, user_id), user_id)
    return LocationsOut(user_id=user_id, locations=[location_out(loc) for loc in found])


async def post_location(user_id: UserId, body: LocationIn, deps: Deps) -> LocationAdded:
    """Create a charging location at Enode; a user's first one is adopted by their plans."""
    places = await _places(deps, user_id)
    _needs_enode(deps)
    made, adopted = await add_location(
        places, user_id, name=body.name, latitude=body.latitude, longitude=body.longitude,
        from_vehicle=body.from_vehicle,
    )  # fmt: skip
    for vehicle_id in adopted:
        await deps.request_replan(vehicle_id)
    return LocationAdded(**location_out(made).model_dump(), adopted_by=adopted)


async def delete_location(user_id: UserId, location_id: LocationId, deps: Deps) -> None:
    """Delete a charging location at Enode; plans that named it no longer control their car."""
    places = await _places(deps, user_id)
    _needs_enode(deps)
    known = {loc.location_id for loc in await list_locations(places, user_id)}
    if location_id not in known:
        raise HTTPException(404, f"User {user_id!r} has no charging location {location_id!r}.")
    _, orphaned = await remove_location(places, user_id, location_id)
    for vehicle_id in orphaned:
        await deps.request_replan(vehicle_id)


def location_router(tokens: TokenTable) -> APIRouter:
    """Routes under /v1/users/{user_id}/locations."""
    read = [Depends(tokens.require("read"))]
    write = [Depends(tokens.require("write"))]
    router = APIRouter(prefix="/v1", tags=["locations"], responses=responses(401, 403, 404, 503))
    add = router.add_api_route
    path = "/users/{user_id}/locations"
    add(path, get_locations, dependencies=read, responses=responses(422, 502))
    add(
        path, post_location, methods=["POST"], dependencies=write, status_code=201,
        responses=responses(400, 413, 422, 502),
    )  # fmt: skip
    add(
        path + "/{location_id}", delete_location, methods=["DELETE"], dependencies=write,
        status_code=204, response_class=Response, responses=responses(422, 502),
    )  # fmt: skip
    return router
