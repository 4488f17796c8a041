"""The Enode endpoints of the sim: shapes (checked against the spec), auth, ownership, 400s."""

from __future__ import annotations

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim, SimConfig, SimState
from tests.integration.conftest import SIM_START
from tests.integration.enode_spec import EnodeSpec, check_problem, spec_hooks
from tests.integration.sim.helpers import vehicle_of

ALL_FIELDS = ("smartChargingPolicy", "chargeState", "location", "information", "odometer")


def _fields(*names: str) -> list[tuple[str, str]]:
    return [("field[]", name) for name in names]


async def test_list_vehicles_returns_only_the_users_cars_with_asked_fields(
    sim: RunningSim, sim_http: httpx.AsyncClient, enode_spec: EnodeSpec
) -> None:
    response = await sim_http.get("/vehicles", params=_fields(*ALL_FIELDS))
    enode_spec.check_request(response.request)
    cars = response.json()
    own = {v.id for v in sim.state.vehicles.values() if v.user_id == "user-1"}
    assert {c["id"] for c in cars} == own
    assert all(set(ALL_FIELDS) <= set(c) for c in cars)
    brands = {c["information"]["brand"] for c in cars}
    assert brands == {v.vendor for v in sim.state.vehicles.values() if v.user_id == "user-1"}


async def test_without_fields_only_the_required_keys_come_back(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    body = (await sim_http.get(f"/vehicles/{vehicle_of(sim).id}")).json()
    assert set(body) == {"id", "lastSeen", "isReachable", "chargingLocationId"}


async def test_an_unknown_field_is_a_400_problem(
    sim: RunningSim, sim_http: httpx.AsyncClient, enode_spec: EnodeSpec
) -> None:
    car = vehicle_of(sim)
    for path in ("/vehicles", f"/vehicles/{car.id}"):
        response = await sim_http.get(path, params=_fields("chargeState", "battery"))
        assert response.status_code == 400
        assert "battery" in response.json()["detail"]
    # The spec's enum is only intact on the single-vehicle path; the checker must refuse it.
    with pytest.raises(AssertionError):
        enode_spec.check_request(response.request)


async def test_another_users_vehicle_is_not_found(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    theirs = vehicle_of(sim, "user-2")
    for path in ("", "/charge-state", "/smart-charging-policy"):
        response = await sim_http.get(f"/vehicles/{theirs.id}{path}")
        assert response.status_code == 404
    response = await sim_http.post(f"/vehicles/{theirs.id}/charging", json={"action": "STOP"})
    assert response.status_code == 404
    assert sim.state.counters[theirs.id].commands_received == 0


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
async def test_missing_or_unknown_tokens_are_401(
    sim: RunningSim, enode_spec: EnodeSpec, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec), base_url=sim.api_url, headers=headers
    ) as http:
        response = await http.get("/vehicles")
    assert response.status_code == 401
    check_problem(401, dict(response.headers), response.content)


async def test_a_token_without_the_scope_is_403(enode_spec: EnodeSpec, sim: RunningSim) -> None:
    token = sim.state.issue_user_token("user-1", ("vehicle:location",)).access_token
    car = vehicle_of(sim)
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec),
        base_url=sim.api_url,
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        assert (await http.get(f"/vehicles/{car.id}/location")).status_code == 200
        denied = await http.post(f"/vehicles/{car.id}/charging", json={"action": "START"})
    assert denied.status_code == 403


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b'{"action": "JUMP"}', b'{"verb": "START"}', b'["START"]'],
    ids=["empty", "invalid-json", "bad-action", "no-action", "array"],
)
async def test_a_bad_charging_body_is_a_400(
    sim: RunningSim, sim_http: httpx.AsyncClient, content: bytes
) -> None:
    car = vehicle_of(sim)
    response = await sim_http.post(
        f"/vehicles/{car.id}/charging",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert sim.state.counters[car.id].commands_received == 0


async def test_start_and_stop_are_204_and_counted(
    sim: RunningSim, sim_http: httpx.AsyncClient, enode_spec: EnodeSpec
) -> None:
    car = vehicle_of(sim)
    for action in ("START", "STOP", "STOP"):
        response = await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": action})
        enode_spec.check_request(response.request)
        assert response.status_code == 204
        assert response.content == b""
    counters = sim.state.counters[car.id]
    assert (counters.commands_received, counters.starts, counters.stops) == (3, 1, 2)


async def test_watch_echoes_its_body(
    sim: RunningSim, sim_http: httpx.AsyncClient, enode_spec: EnodeSpec
) -> None:
    car = vehicle_of(sim)
    response = await sim_http.post(f"/vehicles/{car.id}/watch", json={"properties": "IS_CHARGING"})
    enode_spec.check_request(response.request)
    assert response.json() == {"properties": "IS_CHARGING"}
    assert sim.state.counters[car.id].watches == 1
    bad = await sim_http.post(f"/vehicles/{car.id}/watch", json={"properties": "SPEED"})
    assert bad.status_code == 400


async def test_smart_charging_policy_round_trips(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    path = f"/vehicles/{car.id}/smart-charging-policy"
    put = await sim_http.put(path, json={"isEnabled": True, "deadline": "06:30"})
    assert put.json() == {"isEnabled": True, "deadline": "06:30"}
    assert (await sim_http.get(path)).json() == {"isEnabled": True, "deadline": "06:30"}
    listed = await sim_http.get("/vehicles", params=_fields("smartChargingPolicy"))
    by_id = {c["id"]: c for c in listed.json()}
    assert by_id[car.id]["smartChargingPolicy"]["isEnabled"] is True
    assert (await sim_http.put(path, json={"deadline": "soon"})).status_code == 400
    assert (await sim_http.put(path, json={"isEnabled": "yes"})).status_code == 400


def test_one_seeded_car_in_five_has_smart_charging_enabled() -> None:
    state = SimState(SimConfig(vehicles=10, seed=3), FakeClock(SIM_START))
    flags = [v.smart_enabled for v in state.vehicles.values()]
    assert flags.count(True) == 2


async def test_single_part_endpoints(sim: RunningSim, sim_http: httpx.AsyncClient) -> None:
    car = vehicle_of(sim)
    info = (await sim_http.get(f"/vehicles/{car.id}/information")).json()
    assert info == {"id": car.id, "brand": car.vendor, "model": car.model, "year": car.year}
    location = (await sim_http.get(f"/vehicles/{car.id}/location")).json()
    assert (location["latitude"], location["longitude"]) == (car.latitude, car.longitude)
    odometer = (await sim_http.get(f"/vehicles/{car.id}/odometer")).json()
    assert odometer["distance"] == car.odometer_km
    me = (await sim_http.get("/me")).json()
    assert me["id"] == "user-1"
    assert {v["vendor"] for v in me["linkedVendors"]} == sim.state.user_vendors("user-1")


async def test_charging_locations_crud(sim_http: httpx.AsyncClient) -> None:
    # Every user starts with a home location, where their cars are.
    (home,) = (await sim_http.get("/charging-locations")).json()
    assert home["name"] == "Home"
    cars = (await sim_http.get("/vehicles")).json()
    assert cars
    assert {c["chargingLocationId"] for c in cars} == {home["id"]}
    created = await sim_http.post(
        "/charging-locations", json={"name": "Work", "latitude": 59.9, "longitude": 10.7}
    )
    assert created.status_code == 201
    location = created.json()
    path = f"/charging-locations/{location['id']}"
    assert (await sim_http.get("/charging-locations")).json() == [home, location]
    assert (await sim_http.get(path)).json() == location
    renamed = await sim_http.put(path, json={"name": "Cabin", "latitude": 61.0, "longitude": 9.0})
    assert renamed.json()["name"] == "Cabin"
    assert (await sim_http.delete(path)).status_code == 204
    assert (await sim_http.get(path)).status_code == 404


async def test_control_api_moves_a_car_and_sets_its_charger_power(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    car = (await sim_http.get("/vehicles")).json()[0]["id"]
    async with httpx.AsyncClient(base_url=sim.api_url) as control:
        moved = await control.patch(
            f"/_sim/vehicles/{car}",
            json={"charging_location_id": None, "max_charge_kw": 150, "plugged_in": True},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["charging_location_id"] is None
        assert moved.json()["max_charge_kw"] == 150
        body = (await sim_http.get(f"/vehicles/{car}", params={"field[]": "chargeState"})).json()
        assert body["chargingLocationId"] is None
        bad = await control.patch(f"/_sim/vehicles/{car}", json={"charging_location_id": 5})
        assert bad.status_code == 400
        assert "charging_location_id" in bad.json()["error"]
        hidden = await control.patch(f"/_sim/vehicles/{car}", json={"reports_location": False})
        assert hidden.json()["reports_location"] is False
        body = (await sim_http.get(f"/vehicles/{car}", params={"field[]": "location"})).json()
        assert "location" not in body
        assert body["chargingLocationId"] is None


async def test_health_follows_the_control_state(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    assert (await sim_http.get("/health/ready")).status_code == 204
    sim.state.set_vendor_status("BMW", "OUTAGE")
    sim.state.ready = False
    vendors = {v["vendor"]: v["status"] for v in (await sim_http.get("/health/vendors")).json()}
    assert vendors["BMW"] == "OUTAGE"
    assert vendors["TESLA"] == "READY"
    not_ready = await sim_http.get("/health/ready")
    assert not_ready.status_code == 503
    assert isinstance(not_ready.json(), str)


async def test_unknown_paths_are_404_problems(sim_http: httpx.AsyncClient) -> None:
    response = await sim_http.get("/chargers/nope/whatever")
    assert response.status_code == 404
    check_problem(404, dict(response.headers), response.content)


async def test_enabling_smart_charging_takes_over_a_plugged_in_car(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.set_smart_charging(car.id, enabled=False)
    sim.state.unplug(car.id)
    sim.state.set_soc(car.id, 30)
    sim.state.set_charge_limit(car.id, 90)
    sim.state.plug(car.id)
    path = f"/vehicles/{car.id}/smart-charging-policy"
    await sim_http.put(path, json={"isEnabled": True, "deadline": "07:00"})
    state = (await sim_http.get(f"/vehicles/{car.id}/charge-state")).json()
    assert (state["isCharging"], state["isChargingReasons"]) == (False, ["SMART_CHARGING_DELAY"])
    assert (await sim_http.put(path, json={"deadline": "25:00"})).status_code == 400
