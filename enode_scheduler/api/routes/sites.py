"""Site routes: charging locations behind one grid connection, and the connection's power cap."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.convert import site_out
from enode_scheduler.api.models import LocationId, SiteIn, SiteName, SiteOut, SitesOut, UserId
from enode_scheduler.api.problems import responses
from enode_scheduler.api.routes.vehicles import Deps
from enode_scheduler.records import SiteLocation

__all__ = ["site_router"]

_LOCATION_PATH = "/sites/{name}/locations/{user_id}/{location_id}"


async def list_sites(deps: Deps) -> SitesOut:
    """Every site with its cap and charging locations."""
    return SitesOut(sites=[site_out(site) for site in await deps.sites.list_sites()])


async def get_site(name: SiteName, deps: Deps) -> SiteOut:
    """One site with its cap and charging locations."""
    site = await deps.sites.get_site(name)
    if site is None:
        raise HTTPException(404, f"No site {name!r} exists.")
    return site_out(site)


async def put_site(name: SiteName, body: SiteIn, deps: Deps, response: Response) -> SiteOut:
    """Create the site with its cap (201), or change the cap of an existing one (200)."""
    site, created = await deps.sites.put_site(name, max_kw=body.max_kw)
    response.status_code = 201 if created else 200
    return site_out(site)


async def delete_site(name: SiteName, deps: Deps) -> None:
    """Remove the site; its charging locations are detached."""
    if not await deps.sites.delete_site(name):
        raise HTTPException(404, f"No site {name!r} exists.")


async def attach_location(
    name: SiteName, user_id: UserId, location_id: LocationId, deps: Deps
) -> SiteOut:
    """Put the user's charging location in the site; 409 when it is in another site."""
    location = SiteLocation(user_id=user_id, location_id=location_id)
    return site_out(await deps.sites.attach_location(name, location))


async def detach_location(
    name: SiteName, user_id: UserId, location_id: LocationId, deps: Deps
) -> None:
    """Take the user's charging location out of the site."""
    location = SiteLocation(user_id=user_id, location_id=location_id)
    if not await deps.sites.detach_location(name, location):
        raise HTTPException(
            404, f"Location {location_id!r} of user {user_id!r} is not in site {name!r}."
        )


def site_router(tokens: TokenTable) -> APIRouter:
    """Routes under /v1/sites: read with a read token, change with a write token."""
    read = [Depends(tokens.require("read"))]
    write = [Depends(tokens.require("write"))]
    router = APIRouter(prefix="/v1", tags=["sites"], responses=responses(401, 403))
    add = router.add_api_route
    add("/sites", list_sites, dependencies=read)
    add("/sites/{name}", get_site, dependencies=read, responses=responses(404, 422))
    add(
        "/sites/{name}",
        put_site,
        methods=["PUT"],
        dependencies=write,
        responses={201: {"model": SiteOut, "description": "Created"}, **responses(400, 413, 422)},
    )
    add(
        "/sites/{name}",
        delete_site,
        methods=["DELETE"],
        dependencies=write,
        responses=responses(404, 422),
        status_code=204,
        response_class=Response,
    )
    add(
        _LOCATION_PATH,
        attach_location,
        methods=["PUT"],
        dependencies=write,
        responses=responses(404, 409, 422),
    )
    add(
        _LOCATION_PATH,
        detach_location,
        methods=["DELETE"],
        dependencies=write,
        responses=responses(404, 422),
        status_code=204,
        response_class=Response,
    )
    return router
