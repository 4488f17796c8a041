"""Small helpers shared by the sim tests."""

from __future__ import annotations

from enode_scheduler.sim import RunningSim, SimVehicle


def vehicle_of(sim: RunningSim, user_id: str = "user-1", vendor: str | None = None) -> SimVehicle:
    """The first seeded car of `user_id` (of `vendor` when given)."""
    return next(
        v
        for v in sim.state.vehicles.values()
        if v.user_id == user_id and (vendor is None or v.vendor == vendor)
    )
