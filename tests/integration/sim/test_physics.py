"""Battery physics and command delays, seen through the HTTP API under a FakeClock."""

from __future__ import annotations

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim, SimConfig, SimState
from tests.integration.conftest import SIM_START
from tests.integration.sim.helpers import vehicle_of


async def _charge_state(http: httpx.AsyncClient, vehicle_id: str) -> dict[str, object]:
    response = await http.get(f"/vehicles/{vehicle_id}/charge-state")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def _start(sim: RunningSim, http: httpx.AsyncClient, vehicle_id: str) -> None:
    response = await http.post(f"/vehicles/{vehicle_id}/charging", json={"action": "START"})
    assert response.status_code == 204


async def test_an_hour_of_charging_adds_rate_times_efficiency(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.set_command_delay(0)
    sim.state.plug(car.id)
    sim.state.set_soc(car.id, 20)
    sim.state.set_charge_limit(car.id, 100)
    await _start(sim, sim_http, car.id)
    await sim_clock.advance(3600)
    state = await _charge_state(sim_http, car.id)
    expected = 20 + car.max_charge_kw * car.efficiency * 1.0 / car.capacity_kwh * 100
    assert state["batteryLevel"] == pytest.approx(expected, abs=0.01)
    assert state["isCharging"] is True
    assert state["chargeRate"] == car.max_charge_kw
    assert state["isChargingReasons"] == ["MANUALLY_STARTED"]
    remaining_h = (100 - expected) / 100 * car.capacity_kwh / (car.max_charge_kw * car.efficiency)
    assert state["chargeTimeRemaining"] == pytest.approx(remaining_h * 60, abs=0.1)


async def test_charging_stops_at_the_charge_limit(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.set_command_delay(0)
    sim.state.plug(car.id)
    sim.state.set_charge_limit(car.id, 80)
    sim.state.set_soc(car.id, 75)
    await _start(sim, sim_http, car.id)
    await sim_clock.advance(10 * 3600)
    state = await _charge_state(sim_http, car.id)
    assert state["batteryLevel"] == 80
    assert state["isCharging"] is False
    assert state["chargeRate"] is None
    assert state["chargeTimeRemaining"] is None
    assert state["isChargingReasons"] == ["FULLY_CHARGED"]


async def test_a_command_lands_after_the_vendor_delay(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.plug(car.id)
    sim.state.set_soc(car.id, 30)
    sim.state.set_charge_limit(car.id, 90)
    sim.state.set_command_delay(30, vendor=car.vendor)
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
    await sim_clock.advance(29)
    assert (await _charge_state(sim_http, car.id))["isCharging"] is True
    await sim_clock.advance(2)
    state = await _charge_state(sim_http, car.id)
    assert state["isCharging"] is False
    assert state["isChargingReasons"] == ["MANUALLY_STOPPED"]
    soc_at_stop = state["batteryLevel"]
    await sim_clock.advance(3600)
    assert (await _charge_state(sim_http, car.id))["batteryLevel"] == soc_at_stop


async def test_vendors_have_different_default_delays(sim: RunningSim) -> None:
    delays = {v.vendor: sim.state.command_delay(v.vendor) for v in sim.state.vehicles.values()}
    assert len(set(delays.values())) == len(delays) > 1


async def test_start_while_unplugged_does_nothing(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.set_command_delay(0)
    sim.state.unplug(car.id)
    before = (await _charge_state(sim_http, car.id))["batteryLevel"]
    await _start(sim, sim_http, car.id)
    await sim_clock.advance(3600)
    state = await _charge_state(sim_http, car.id)
    assert state["isPluggedIn"] is False
    assert state["isCharging"] is False
    assert state["isChargingReasons"] == ["NOT_PLUGGED_IN"]
    assert state["batteryLevel"] == before


async def test_plugging_in_starts_charging_on_its_own(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.set_smart_charging(car.id, enabled=False)
    sim.state.unplug(car.id)
    sim.state.set_soc(car.id, 40)
    sim.state.set_charge_limit(car.id, 80)
    sim.state.plug(car.id)
    state = await _charge_state(sim_http, car.id)
    assert state["isCharging"] is True
    assert state["isChargingReasons"] == ["DEFAULT"]


async def test_last_seen_follows_the_sim_clock(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    await sim_clock.advance(600)
    body = (await sim_http.get(f"/vehicles/{car.id}")).json()
    assert body["lastSeen"] == "2026-01-05T18:10:00Z"
    sim.state.set_reachable(car.id, False)
    await sim_clock.advance(600)
    body = (await sim_http.get(f"/vehicles/{car.id}")).json()
    assert (body["lastSeen"], body["isReachable"]) == ("2026-01-05T18:10:00Z", False)


def test_the_same_seed_gives_the_same_fleet() -> None:
    config = SimConfig(vehicles=6, users=3, seed=11)
    first, second = (SimState(config, FakeClock(SIM_START)) for _ in range(2))
    assert [v.charge_state() for v in first.vehicles.values()] == [
        v.charge_state() for v in second.vehicles.values()
    ]
    assert list(first.vehicles) == list(second.vehicles)
    other = SimState(SimConfig(vehicles=6, users=3, seed=12), FakeClock(SIM_START))
    assert list(other.vehicles) != list(first.vehicles)
    assert {v.user_id for v in first.vehicles.values()} == {"user-1", "user-2", "user-3"}
