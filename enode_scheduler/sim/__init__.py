"""A fake Enode API v1.4 on loopback: OAuth, vehicles with battery physics, fault injection.

    async with run_sim(SimConfig(vehicles=3), clock=FakeClock(start)) as sim:
        sim.api_url, sim.token_url, sim.state.plug(vehicle_id), ...

It is a separate program that only speaks HTTP; nothing else in the package imports it.
"""

from __future__ import annotations

from enode_scheduler.sim.config import DEFAULT_VENDORS, SimConfig, VendorProfile
from enode_scheduler.sim.faults import Fault
from enode_scheduler.sim.records import LogEntry, VehicleCounters
from enode_scheduler.sim.server import RunningSim, build_app, run_sim
from enode_scheduler.sim.state import SimState
from enode_scheduler.sim.vehicle import SimVehicle

__all__ = [
    "DEFAULT_VENDORS",
    "Fault",
    "LogEntry",
    "RunningSim",
    "SimConfig",
    "SimState",
    "SimVehicle",
    "VehicleCounters",
    "VendorProfile",
    "build_app",
    "run_sim",
]
