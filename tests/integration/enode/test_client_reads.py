from __future__ import annotations

from enode_scheduler.enode import EnodeClient
from enode_scheduler.records import ChargeAction
from enode_scheduler.sim import RunningSim
from tests.integration.enode.conftest import ClockDriver, vehicles_of
from tests.integration.enode.spec_check import SpecChecker


async def test_list_vehicles_matches_the_sim(
    client: EnodeClient, sim: RunningSim, checker: SpecChecker
) -> None:
    readings = await client.list_vehicles("alice")
    assert sorted(r.vehicle_id for r in readings) == vehicles_of(sim, "alice")
    for reading in readings:
        car = sim.state.vehicles[reading.vehicle_id]
        assert reading.user_id == "alice"
        assert reading.vendor == car.vendor
        assert reading.soc_percent is not None
        assert reading.is_plugged_in == car.plugged_in
        assert reading.smart_charging_enabled == car.smart_enabled
        assert reading.last_seen is not None
    assert checker.checked >= 1
    query = sim.state.requests(path_prefix="/vehicles")[-1].query
    assert ("field[]", "chargeState") in query


async def test_get_vehicle_and_other_reads(client: EnodeClient, sim: RunningSim) -> None:
    vehicle_id = vehicles_of(sim, "bob")[0]
    reading = await client.get_vehicle("bob", vehicle_id)
    assert reading.vehicle_id == vehicle_id
    state = await client.charge_state("bob", vehicle_id)
    assert state.battery_level == reading.soc_percent
    policy = await client.smart_charging_policy("bob", vehicle_id)
    assert policy.is_enabled == sim.state.vehicles[vehicle_id].smart_enabled
    off = await client.put_smart_charging_policy("bob", vehicle_id, is_enabled=False)
    assert off.is_enabled is False
    assert sim.state.vehicles[vehicle_id].smart_enabled is False
    locations = await client.charging_locations("bob")
    assert isinstance(locations, list)


async def test_start_and_stop_reach_the_car(
    client: EnodeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    vehicle_id = vehicles_of(sim, "alice")[0]
    sim.state.plug(vehicle_id)
    await client.set_charging("alice", vehicle_id, ChargeAction.STOP)
    await client.watch("alice", vehicle_id)
    await driver.clock.advance(1.0)
    stopped = await client.get_vehicle("alice", vehicle_id)
    assert stopped.is_charging is False
    await client.set_charging("alice", vehicle_id, ChargeAction.START)
    await driver.clock.advance(1.0)
    started = await client.get_vehicle("alice", vehicle_id)
    assert started.is_charging is True
    assert "MANUALLY_STARTED" in started.charging_reasons
    counters = sim.state.counters[vehicle_id]
    assert (counters.starts, counters.stops) == (1, 1)
    bodies = [e.request_body for e in sim.state.requests() if e.path.endswith("/charging")]
    assert bodies == ['{"action":"STOP"}', '{"action":"START"}']


async def test_health(client: EnodeClient, sim: RunningSim) -> None:
    assert await client.health_ready() is True
    sim.state.ready = False
    assert await client.health_ready() is False
    sim.state.set_vendor_status("BMW", "OUTAGE")
    vendors = await client.vendor_health()
    assert {v.vendor: v.status for v in vendors}["BMW"] == "OUTAGE"
    assert client.gates.paused_vendors == frozenset({"BMW"})
