"""Chargers through the client, against the sim, every exchange checked against the spec."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from enode_scheduler.enode import EnodeClient
from enode_scheduler.exceptions import EnodeGateClosed, EnodeNotFound, EnodeRateLimited
from enode_scheduler.records import ChargeAction
from enode_scheduler.sim import Fault, RunningSim
from tests.integration.enode.conftest import ClockDriver, vehicles_of
from tests.integration.enode.spec_check import SpecChecker

MakeClient = Callable[..., contextlib.AbstractAsyncContextManager[EnodeClient]]


async def test_list_and_get_chargers(
    client: EnodeClient, sim: RunningSim, checker: SpecChecker
) -> None:
    box = sim.state.add_charger("alice", vendor="EASEE")
    sim.state.add_charger("bob", vendor="ZAPTEC")
    readings = await client.list_chargers("alice")
    assert [r.charger_id for r in readings] == [box.id]
    reading = readings[0]
    assert reading.user_id == "alice"
    assert reading.vendor == "EASEE"
    assert reading.brand == "Easee"
    assert (reading.is_plugged_in, reading.is_charging, reading.charge_rate_kw) == (
        False,
        False,
        None,
    )
    assert reading.last_seen is not None
    sim.state.plug_charger(box.id)  # an anonymous car: the wallbox lets power flow at once
    one = await client.get_charger("alice", box.id)
    assert (one.is_plugged_in, one.is_charging, one.charge_rate_kw) == (True, True, 11.0)
    query = sim.state.requests(path_prefix="/chargers")[-1].query
    assert query == [("field[]", "chargeState")]
    with pytest.raises(EnodeNotFound):
        await client.get_charger("bob", box.id)  # not bob's
    assert checker.checked >= 3


async def test_start_and_stop_reach_the_charger_and_the_car_behind_it(
    client: EnodeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    car_id = vehicles_of(sim, "alice")[0]
    sim.state.unplug(car_id)
    sim.state.set_soc(car_id, 40.0)
    box = sim.state.add_charger("alice")
    sim.state.plug_charger(box.id, car_id)
    await client.set_charger_charging("alice", box.id, ChargeAction.STOP)
    await driver.clock.advance(1.0)
    stopped = await client.get_charger("alice", box.id)
    assert stopped.is_charging is False
    assert sim.state.vehicles[car_id].charging is False
    await client.set_charger_charging("alice", box.id, ChargeAction.START)
    await driver.clock.advance(3600.0)
    started = await client.get_charger("alice", box.id)
    car = sim.state.vehicle(car_id)
    assert started.is_charging is True
    assert started.charge_rate_kw == car.max_charge_kw
    # The car's battery filled from the charger's power, and the charger counted it.
    assert car.soc_percent > 40.0
    delivered = (car.soc_percent - 40.0) / 100 * car.capacity_kwh / car.efficiency
    # To 0.01 %: the car and the charger are brought up to date by separate ticks of the sim, a
    # few sim milliseconds apart on a busy machine; an energy counted wrong is off by far more.
    assert sim.state.chargers[box.id].delivered_kwh == pytest.approx(delivered, rel=1e-4)
    counters = sim.state.counters[box.id]
    assert (counters.starts, counters.stops) == (1, 1)
    bodies = [e.request_body for e in sim.state.requests(path_prefix="/chargers")]
    assert [b for b in bodies if b] == ['{"action":"STOP"}', '{"action":"START"}']


async def test_a_429_on_the_charger_vendor_closes_only_its_gate(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    driver.step_s = 0.001
    box = sim.state.add_charger("alice", vendor="EASEE")
    car_id = vehicles_of(sim, "alice")[0]
    async with make_client(get_retries=0, max_requests_per_s=1e6) as client:
        await client.get_charger("alice", box.id)  # learns the vendor
        await client.get_vehicle("alice", car_id)
        sim.state.add_fault(
            Fault("rate_limit", user_id="alice", vendor="EASEE", count=1, retry_after_s=120.0)
        )
        with pytest.raises(EnodeRateLimited):
            await client.get_charger("alice", box.id)
        with pytest.raises(EnodeGateClosed):
            await client.set_charger_charging("alice", box.id, ChargeAction.START)
        # The car's own vendor is not held back by the wallbox maker's limit.
        await client.get_vehicle("alice", car_id)
        await driver.clock.advance(121.0)
        assert (await client.get_charger("alice", box.id)).charger_id == box.id
    assert sim.state.counters[box.id].rate_limited == 1
    assert sim.state.counters[box.id].starts == 0
