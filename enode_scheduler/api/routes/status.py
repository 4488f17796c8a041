"""`GET /v1/status`: which cars and users need attention (relink, errors, vendor outages)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.api.models import StatusOut, UserStatusOut, VehicleStatusOut
from enode_scheduler.api.problems import responses
from enode_scheduler.api.routes.vehicles import Deps

__all__ = ["status_router"]


async def get_status(deps: Deps) -> StatusOut:
    """Every planned vehicle's status (from the running daemon) and every user's link status."""
    cars = deps.health() if deps.health is not None else []
    users = await deps.users.list_users()
    return StatusOut(
        vehicles=[
            VehicleStatusOut(
                vehicle_id=c.vehicle_id,
                user_id=c.user_id,
                status=c.status.value,
                reason=c.reason,
                since=c.since,
            )
            for c in sorted(cars, key=lambda c: c.vehicle_id)
        ],
        users=[
            UserStatusOut(user_id=u.user_id, status=u.status.value, reason=u.relink_reason)
            for u in sorted(users, key=lambda u: u.user_id)
        ],
    )


def status_router(tokens: TokenTable) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["status"], responses=responses(401, 403))
    router.add_api_route("/status", get_status, dependencies=[Depends(tokens.require("read"))])
    return router
