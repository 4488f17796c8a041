"""The sim's OAuth side: client credentials, the link flow, refresh, expiry and revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim, SimConfig
from tests.integration.enode_spec import EnodeSpec, spec_hooks

REDIRECT_URI = "http://127.0.0.1:9/callback"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(vehicles=2, users=1, seed=1, access_token_ttl_s=600, vehicles_on_link=1)


@pytest.fixture
async def http(sim: RunningSim, enode_spec: EnodeSpec) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sim.api_url, follow_redirects=False, event_hooks=spec_hooks(enode_spec)
    ) as client:
        yield client


async def _client_token(sim: RunningSim, http: httpx.AsyncClient) -> str:
    response = await http.post(
        sim.token_url,
        data={"grant_type": "client_credentials"},
        auth=(sim.client_id, sim.client_secret),
    )
    assert response.status_code == 200
    token: str = response.json()["access_token"]
    return token


async def _authorize(sim: RunningSim, http: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    """Link `user_id` and follow the authorize page; the callback's query parameters."""
    token = await _client_token(sim, http)
    linked = await http.post(
        f"/users/{user_id}/link", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    link_state = linked.json()["linkState"]
    params = {
        "client_id": sim.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "offline_access all",
        "state": link_state,
    }
    page = await http.get(sim.authorize_url, params=params)
    assert page.status_code == 302
    location = page.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["state"] == link_state
    return query


async def _exchange(sim: RunningSim, http: httpx.AsyncClient, code: str) -> httpx.Response:
    return await http.post(
        sim.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )


async def test_client_credentials_by_basic_and_by_form(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    assert await _client_token(sim, http)
    by_form = await http.post(
        sim.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    assert by_form.json()["expires_in"] == 3600
    wrong = await http.post(
        sim.token_url, data={"grant_type": "client_credentials"}, auth=(sim.client_id, "guess")
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


async def test_the_link_flow_gives_working_user_tokens(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    callback = await _authorize(sim, http, "alice")
    tokens = (await _exchange(sim, http, callback["code"])).json()
    assert tokens["token_type"] == "bearer"
    assert tokens["refresh_token"]
    cars = await http.get(
        "/vehicles", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert cars.status_code == 200
    assert [c["id"] for c in cars.json()] == [
        v.id for v in sim.state.vehicles.values() if v.user_id == "alice"
    ]
    assert len(cars.json()) == 1


async def test_a_code_works_once_and_only_with_its_redirect_uri(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    code = (await _authorize(sim, http, "alice"))["code"]
    assert (await _exchange(sim, http, code)).status_code == 200
    replay = await _exchange(sim, http, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    other = (await _authorize(sim, http, "bob"))["code"]
    mismatched = await http.post(
        sim.token_url,
        data={"grant_type": "authorization_code", "code": other, "redirect_uri": "http://x/cb"},
        auth=(sim.client_id, sim.client_secret),
    )
    assert mismatched.json()["error"] == "invalid_grant"


async def test_a_denied_user_gets_an_error_redirect(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    sim.state.deny_link("carol", error="access_denied", description="User said no")
    callback = await _authorize(sim, http, "carol")
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == "User said no"
    assert "code" not in callback


async def test_an_unknown_or_used_link_state_is_refused(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    params = {
        "client_id": sim.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "state": "forged",
    }
    page = await http.get(sim.authorize_url, params=params)
    query = parse_qs(urlsplit(page.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["forged"]
    bad_client = await http.get(sim.authorize_url, params={**params, "client_id": "other"})
    assert bad_client.status_code == 400


async def test_an_expired_link_state_is_refused(
    sim: RunningSim, sim_clock: FakeClock, http: httpx.AsyncClient
) -> None:
    token = await _client_token(sim, http)
    linked = await http.post("/users/dave/link", headers={"Authorization": f"Bearer {token}"})
    await sim_clock.advance(sim.state.config.link_state_ttl_s + 1)
    page = await http.get(
        sim.authorize_url,
        params={
            "client_id": sim.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "state": linked.json()["linkState"],
        },
    )
    assert parse_qs(urlsplit(page.headers["location"]).query)["error"] == ["invalid_request"]


async def test_tokens_expire_on_the_sim_clock_and_refresh_rotates(
    sim: RunningSim, sim_clock: FakeClock, http: httpx.AsyncClient
) -> None:
    tokens = (await _exchange(sim, http, (await _authorize(sim, http, "alice"))["code"])).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await http.get("/vehicles", headers=bearer)).status_code == 200
    await sim_clock.advance(601)
    assert (await http.get("/vehicles", headers=bearer)).status_code == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = (sim.client_id, sim.client_secret)
    renewed = await http.post(sim.token_url, data=refresh, auth=auth)
    assert renewed.status_code == 200
    new_bearer = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert (await http.get("/vehicles", headers=new_bearer)).status_code == 200
    reused = await http.post(sim.token_url, data=refresh, auth=auth)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


async def test_a_client_token_is_refused_on_user_endpoints_and_vice_versa(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    client = {"Authorization": f"Bearer {await _client_token(sim, http)}"}
    user = {"Authorization": f"Bearer {sim.state.issue_user_token('user-1').access_token}"}
    assert (await http.get("/vehicles", headers=client)).status_code == 401
    assert (await http.post("/users/x/link", headers=user)).status_code == 401


async def test_deauthorize_and_unlink(sim: RunningSim, http: httpx.AsyncClient) -> None:
    client = {"Authorization": f"Bearer {await _client_token(sim, http)}"}
    user = {"Authorization": f"Bearer {sim.state.issue_user_token('user-1').access_token}"}
    assert (await http.delete("/users/user-1/authorization", headers=client)).status_code == 204
    assert (await http.get("/vehicles", headers=user)).status_code == 401
    assert any(v.user_id == "user-1" for v in sim.state.vehicles.values())
    assert (await http.delete("/users/user-1", headers=client)).status_code == 204
    assert not any(v.user_id == "user-1" for v in sim.state.vehicles.values())


async def test_unsupported_grant_type(sim: RunningSim, http: httpx.AsyncClient) -> None:
    response = await http.post(
        sim.token_url, data={"grant_type": "password"}, auth=(sim.client_id, sim.client_secret)
    )
    assert response.json()["error"] == "unsupported_grant_type"
