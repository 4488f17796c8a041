"""Charging locations through the HTTP API: plans name one, statuses show where the car is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.clock import FakeClock
from enode_scheduler.enode import open_enode_client
from enode_scheduler.records import ChargingLocation, Presence, UserRecord, UserTokens
from enode_scheduler.sim import RunningSim
from enode_scheduler.testing import InMemoryStore
from tests.integration.api.conftest import Api
from tests.integration.api.support import READ, WRITE, api_settings, reading
from tests.integration.api.test_link_sim import _enode_settings, ticking  # noqa: F401

PROBLEM = "application/problem+json"
PLAN = {"target_soc_percent": 80, "deadline": "2026-11-30T07:00:00+01:00"}
HOME = ChargingLocation("loc-home", "user-1", name="Home")
WORK = ChargingLocation("loc-work", "user-1", name="Work")


async def _seed(api: Api, *locations: ChargingLocation) -> None:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1", linked=True))
    await api.deps.vehicles.save_readings([reading("veh-1", charging_location_id="loc-work")])
    assert api.deps.locations is not None
    await api.deps.locations.replace_locations("user-1", list(locations))


async def test_plan_takes_the_only_location_and_the_schedule_shows_away(api: Api) -> None:
    await _seed(api, HOME)
    r = await api.client.put("/v1/vehicles/veh-1/plan", json=PLAN, headers=WRITE)
    assert r.status_code == 200, r.text
    assert (r.json()["location_id"], r.json()["status"]) == ("loc-home", "active")
    # The daemon found the car plugged in at work.
    await api.deps.plans.set_presences({"veh-1": Presence.AWAY})
    got = (await api.client.get("/v1/vehicles/veh-1/plan", headers=READ)).json()
    assert got["status"] == "away"
    listed = (await api.client.get("/v1/users/user-1/vehicles", headers=READ)).json()
    assert listed["vehicles"][0]["charging_location_id"] == "loc-work"
    schedule = (await api.client.get("/v1/vehicles/veh-1/schedule", headers=READ)).json()
    assert schedule["status"] == "away"
    assert (schedule["location_id"], schedule["charging_location_id"]) == ("loc-home", "loc-work")


async def test_plan_names_a_location_by_name_or_is_refused(api: Api) -> None:
    await _seed(api, HOME, WORK)
    r = await api.client.put("/v1/vehicles/veh-1/plan", json=PLAN, headers=WRITE)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert "2 charging locations" in r.json()["detail"]
    r = await api.client.put("/v1/vehicles/veh-1/plan", json=PLAN | {"location": "Cabin"},
                             headers=WRITE)  # fmt: skip
    assert r.status_code == 422
    assert "no charging location 'Cabin'" in r.json()["detail"]
    r = await api.client.put("/v1/vehicles/veh-1/plan", json=PLAN | {"location": "work"},
                             headers=WRITE)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["location_id"] == "loc-work"


async def test_plan_without_any_location_is_stored_and_shows_no_location(api: Api) -> None:
    await _seed(api)
    r = await api.client.put("/v1/vehicles/veh-1/plan", json=PLAN, headers=WRITE)
    assert r.status_code == 200, r.text
    assert (r.json()["location_id"], r.json()["status"]) == (None, "no_location")


async def test_locations_list_stored_copy_and_changes_need_enode(api: Api) -> None:
    await _seed(api, WORK, HOME)
    r = await api.client.get("/v1/users/user-1/locations", headers=READ)
    assert [loc["name"] for loc in r.json()["locations"]] == ["Home", "Work"]
    assert (await api.client.get("/v1/users/nobody/locations", headers=READ)).status_code == 404
    r = await api.client.post(
        "/v1/users/user-1/locations", json={"name": "X", "latitude": 1, "longitude": 2},
        headers=WRITE,
    )  # fmt: skip
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM
    r = await api.client.post(
        "/v1/users/user-1/locations", json={"name": "X", "latitude": 1}, headers=WRITE
    )
    assert r.status_code == 422


@pytest.fixture
async def enode_api(
    sim: RunningSim,
    sim_clock: FakeClock,
    ticking: None,  # noqa: F811
) -> AsyncIterator[tuple[httpx.AsyncClient, InMemoryStore]]:
    store = InMemoryStore.create(clock=sim_clock)
    issued = sim.state.issue_user_token("user-1")
    expires = sim_clock.now() + timedelta(seconds=issued.expires_in_s)
    await store.tokens.save_tokens(
        "user-1", UserTokens(issued.access_token, issued.refresh_token, expires)
    )
    settings = _enode_settings(sim)
    async with open_enode_client(settings, token_store=store.tokens, clock=sim_clock) as client:
        deps = ApiDeps(
            users=store.users, vehicles=store.vehicles, plans=store.plans,
            schedules=store.schedules, intents=store.intents, overrides=store.overrides,
            sites=store.sites, clock=sim_clock, link=client, enode=client,
            locations=store.locations, enode_locations=client,
        )  # fmt: skip
        transport = httpx.ASGITransport(app=create_api(deps, api_settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            yield http, store


async def test_locations_are_created_and_removed_at_enode(
    sim: RunningSim, enode_api: tuple[httpx.AsyncClient, InMemoryStore]
) -> None:
    http, _ = enode_api
    car = next(v.id for v in sim.state.vehicles.values() if v.user_id == "user-1")
    base = "/v1/users/user-1/locations"
    (home,) = (await http.get(base, headers=READ)).json()["locations"]
    assert home["name"] == "Home"
    r = await http.post(base, json={"name": "Cabin", "from_vehicle": car}, headers=WRITE)
    assert r.status_code == 201, r.text
    cabin = r.json()
    assert cabin["latitude"] == sim.state.vehicles[car].latitude
    assert cabin["location_id"] in sim.state.users["user-1"].locations
    assert len((await http.get(base, headers=READ)).json()["locations"]) == 2
    gone = await http.delete(f"{base}/{cabin['location_id']}", headers=WRITE)
    assert gone.status_code == 204
    assert cabin["location_id"] not in sim.state.users["user-1"].locations
    again = await http.delete(f"{base}/{cabin['location_id']}", headers=WRITE)
    assert again.status_code == 404
    assert again.headers["content-type"] == PROBLEM
