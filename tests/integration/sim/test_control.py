"""The /_sim/ control API over HTTP, the request log and the per-vehicle counters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim
from tests.integration.enode_spec import EnodeSpec, spec_hooks
from tests.integration.sim.helpers import vehicle_of


@pytest.fixture
async def control(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.control_url) as client:
        yield client


async def test_plug_unplug_and_patch(
    sim: RunningSim, control: httpx.AsyncClient, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    unplugged = (await control.post(f"/vehicles/{car.id}/unplug")).json()
    assert unplugged["plugged_in"] is False
    patched = await control.patch(
        f"/vehicles/{car.id}",
        json={"soc_percent": 33, "charge_limit_percent": 85, "reachable": False},
    )
    assert patched.status_code == 200
    api = (await sim_http.get(f"/vehicles/{car.id}", params={"field[]": "chargeState"})).json()
    assert api["isReachable"] is False
    assert api["chargeState"]["batteryLevel"] == 33
    assert api["chargeState"]["chargeLimit"] == 85
    assert api["chargeState"]["isPluggedIn"] is False
    plugged = (await control.post(f"/vehicles/{car.id}/plug")).json()
    assert plugged["plugged_in"] is True
    bad = await control.patch(f"/vehicles/{car.id}", json={"colour": "red"})
    assert bad.status_code == 400
    assert (await control.post("/vehicles/nope/plug")).status_code == 404


async def test_faults_over_http(
    sim: RunningSim, control: httpx.AsyncClient, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    created = await control.post(
        "/faults", json={"kind": "rate_limit", "vendor": car.vendor, "retry_after_s": 5}
    )
    fault = created.json()
    assert fault["kind"] == "rate_limit"
    assert (await sim_http.get(f"/vehicles/{car.id}/charge-state")).status_code == 429
    listed = (await control.get("/faults")).json()
    assert [f["hits"] for f in listed] == [1]
    assert (await control.delete(f"/faults/{fault['id']}")).json() == {"removed": True}
    assert (await sim_http.get(f"/vehicles/{car.id}/charge-state")).status_code == 200
    assert (await control.post("/faults", json={"kind": "gremlins"})).status_code == 400
    assert (await control.post("/faults", json={"kind": "slow", "x": 1})).status_code == 400


async def test_the_log_records_each_request_with_user_vendor_and_sim_time(
    sim: RunningSim, sim_clock: FakeClock, control: httpx.AsyncClient, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    await sim_clock.advance(90)
    await sim_http.get(f"/vehicles/{car.id}", params=[("field[]", "chargeState")])
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "START"})
    log = (await control.get("/log")).json()
    assert [(e["method"], e["status"]) for e in log] == [("GET", 200), ("POST", 204)]
    first = log[0]
    assert first["path"] == f"/vehicles/{car.id}"
    assert first["query"] == [["field[]", "chargeState"]]
    assert (first["user_id"], first["vendor"], first["vehicle_id"]) == (
        "user-1",
        car.vendor,
        car.id,
    )
    assert first["sim_time"] == "2026-01-05T18:01:30+00:00"
    assert first["client"] == "127.0.0.1"
    assert log[1]["request_body"] == '{"action":"START"}'
    later = (await control.get("/log", params={"since": first["seq"]})).json()
    assert [e["method"] for e in later] == ["POST"]
    counters = (await control.get("/counters")).json()[car.id]
    assert counters["commands_received"] == 1
    assert counters["requests"] == 2
    await control.delete("/log")
    assert (await control.get("/log")).json() == []


async def test_the_log_checks_against_the_spec(
    sim: RunningSim, sim_http: httpx.AsyncClient, enode_spec: EnodeSpec
) -> None:
    car = vehicle_of(sim)
    await sim_http.get("/vehicles", params=[("field[]", "chargeState"), ("field[]", "location")])
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
    await sim_http.put(f"/vehicles/{car.id}/smart-charging-policy", json={"isEnabled": False})
    assert enode_spec.check_log(sim.state.log) == 3
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "PAUSE"})
    with pytest.raises(AssertionError, match="breaks the spec"):
        enode_spec.check_log(sim.state.log)


async def test_tokens_vendors_delays_and_link_denial_over_http(
    enode_spec: EnodeSpec, sim: RunningSim, control: httpx.AsyncClient
) -> None:
    issued = (await control.post("/users/user-2/token", json={"scopes": ["all"]})).json()
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec), base_url=sim.api_url, headers=bearer
    ) as http:
        assert (await http.get("/vehicles")).status_code == 200
        assert (await control.post("/users/user-2/revoke")).json()["revoked"] == 2
        assert (await http.get("/vehicles")).status_code == 401
    await control.put("/vendors/TESLA/status", json={"status": "ELEVATED_ERROR_RATE"})
    assert sim.state.vendor_status["TESLA"] == "ELEVATED_ERROR_RATE"
    assert (await control.put("/vendors/TESLA/status", json={"status": "MEH"})).status_code == 400
    await control.put("/command-delay", json={"seconds": 7, "vendor": "BMW"})
    assert sim.state.command_delay("BMW") == 7
    await control.put("/users/eve/link-denial", json={"error": "server_error"})
    assert sim.state.users["eve"].link_denial is not None
    await control.delete("/users/eve/link-denial")
    assert sim.state.users["eve"].link_denial is None
    await control.put("/ready", json={"ready": False})
    assert sim.state.ready is False
    info = (await control.get("/info")).json()
    assert info["now"] == "2026-01-05T18:00:00+00:00"
    assert "user-2" in info["users"]


async def test_add_a_vehicle_over_http(sim: RunningSim, control: httpx.AsyncClient) -> None:
    added = await control.post(
        "/vehicles", json={"user_id": "frank", "vendor": "NISSAN", "soc_percent": 12.5}
    )
    assert added.status_code == 200
    body = added.json()
    assert (body["user_id"], body["vendor"], body["soc_percent"]) == ("frank", "NISSAN", 12.5)
    assert sim.state.vehicle(body["id"]).user_id == "frank"


async def test_chargers_over_the_control_api(
    sim: RunningSim, control: httpx.AsyncClient, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    await control.post(f"/vehicles/{car.id}/unplug")
    created = await control.post("/chargers", json={"user_id": car.user_id, "vendor": "ZAPTEC"})
    assert created.status_code == 200
    box = created.json()
    assert (box["vendor"], box["plugged_in"], box["charging"]) == ("ZAPTEC", False, False)
    plugged = await control.post(f"/chargers/{box['id']}/plug", json={"vehicle_id": car.id})
    assert plugged.json()["vehicle_id"] == car.id
    assert plugged.json()["plugged_in"] is True
    assert sim.state.vehicles[car.id].plugged_in is True
    api = (await sim_http.get(f"/chargers/{box['id']}", params={"field[]": "chargeState"})).json()
    assert api["chargeState"]["isPluggedIn"] is True
    assert api["information"]["brand"] == "Zaptec"
    assert (await sim_http.get("/chargers", params={"field[]": "information"})).status_code == 400
    unplugged = (await control.post(f"/chargers/{box['id']}/unplug")).json()
    assert (unplugged["plugged_in"], unplugged["vehicle_id"]) == (False, None)
    assert sim.state.vehicles[car.id].plugged_in is False
    patched = await control.patch(f"/chargers/{box['id']}", json={"reachable": False})
    assert patched.json()["reachable"] is False
    assert (await control.patch(f"/chargers/{box['id']}", json={"x": 1})).status_code == 400
    assert (await control.post("/chargers/nope/plug")).status_code == 404


async def test_move_a_car_and_list_the_commands_it_received(
    sim: RunningSim, control: httpx.AsyncClient, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    moved = await control.patch(
        f"/vehicles/{car.id}",
        json={"latitude": 60.39, "longitude": 5.32, "charging_location_id": None},
    )
    assert moved.status_code == 200
    api = (await sim_http.get(f"/vehicles/{car.id}", params={"field[]": "location"})).json()
    assert (api["location"]["latitude"], api["location"]["longitude"]) == (60.39, 5.32)
    assert api["chargingLocationId"] is None
    assert (
        await control.patch(f"/vehicles/{car.id}", json={"latitude": "north"})
    ).status_code == 400
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "START"})
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
    commands = (await control.get("/commands", params={"vehicle_id": car.id})).json()
    assert [(c["vehicle_id"], c["action"], c["status"]) for c in commands] == [
        (car.id, "START", 204),
        (car.id, "STOP", 204),
    ]
    assert (await control.get("/commands", params={"vehicle_id": "other"})).json() == []
