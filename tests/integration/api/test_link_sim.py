"""The link flow end to end: API -> real EnodeClient -> the sim's authorize page -> API callback.

The browser is played by httpx: it follows the authorize URL to the sim, which redirects to the
redirect URI with `code` and `state` (or an `error`); that URL is then opened on the API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import AnyHttpUrl, SecretStr
from typer.testing import CliRunner

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.cli import app as cli_app
from enode_scheduler.clock import FakeClock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode import EnodeClient, open_enode_client
from enode_scheduler.records import UserRecord
from enode_scheduler.sim import RunningSim
from enode_scheduler.sim.faults import Fault
from enode_scheduler.testing import InMemoryStore
from tests.integration.api.support import WEBHOOK_SECRET, WRITE, api_settings

REDIRECT = "http://127.0.0.1:8765/oauth/callback"


@dataclass
class Linked:
    api: httpx.AsyncClient
    browser: httpx.AsyncClient
    store: InMemoryStore
    client: EnodeClient
    sim: RunningSim
    clock: FakeClock


def _enode_settings(sim: RunningSim, *, ttl_s: float = 600.0) -> EnodeSettings:
    return EnodeSettings(
        client_id=sim.client_id,
        client_secret=SecretStr(sim.client_secret),
        api_url=AnyHttpUrl(sim.api_url),
        token_url=AnyHttpUrl(sim.token_url),
        authorize_url=AnyHttpUrl(sim.authorize_url),
        redirect_uri=AnyHttpUrl(REDIRECT),
        link_state_ttl_s=ttl_s,
        webhook_secret=SecretStr(WEBHOOK_SECRET),
    )


async def _tick(clock: FakeClock) -> None:
    # The client's pacer sleeps on this clock, so time has to pass while real I/O runs.
    while True:
        await asyncio.sleep(0.001)
        await clock.advance(0.05)


@pytest.fixture
async def ticking(sim_clock: FakeClock) -> AsyncIterator[None]:
    task = asyncio.create_task(_tick(sim_clock))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def linked(sim: RunningSim, sim_clock: FakeClock, ticking: None) -> AsyncIterator[Linked]:
    store = InMemoryStore.create(clock=sim_clock)
    settings = _enode_settings(sim)
    async with open_enode_client(settings, token_store=store.tokens, clock=sim_clock) as client:
        deps = ApiDeps(
            users=store.users,
            vehicles=store.vehicles,
            plans=store.plans,
            schedules=store.schedules,
            intents=store.intents,
            overrides=store.overrides,
            sites=store.sites,
            clock=sim_clock,
            link=client,
            enode=client,
        )
        app = create_api(deps, api_settings())
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as api,
            httpx.AsyncClient(timeout=5.0) as browser,
        ):
            yield Linked(api, browser, store, client, sim, sim_clock)


async def _authorize(env: Linked, user_id: str) -> str:
    """Start a link on the API and pass the sim's authorize page; return the callback URL."""
    r = await env.api.post(f"/v1/users/{user_id}/link", headers=WRITE)
    assert r.status_code == 200, r.text
    page = await env.browser.get(r.json()["authorize_url"])
    assert page.status_code == 302
    location = page.headers["location"]
    assert location.startswith(REDIRECT)
    return location


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_link_stores_tokens_that_work(linked: Linked) -> None:
    callback = await _authorize(linked, "user-1")
    r = await linked.api.get(_path(callback))
    assert r.status_code == 200, r.text
    assert "Vehicles linked" in r.text
    user = await linked.store.users.get_user("user-1")
    assert user is not None
    assert user.linked is True
    stored = await linked.store.vehicles.list_vehicle_ids("user-1")
    assert stored
    assert stored == sorted(
        v.id for v in linked.sim.state.vehicles.values() if v.user_id == "user-1"
    )
    r = await linked.api.get("/v1/users/user-1/vehicles", headers=WRITE)
    assert [v["vehicle_id"] for v in r.json()["vehicles"]] == stored


async def test_replayed_state_is_refused(linked: Linked) -> None:
    callback = await _authorize(linked, "user-1")
    assert (await linked.api.get(_path(callback))).status_code == 200
    again = await linked.api.get(_path(callback))
    assert again.status_code == 400
    assert "already used" in again.text


async def test_state_for_another_user_is_refused(linked: Linked) -> None:
    callback = await _authorize(linked, "user-1")
    r = await linked.api.get(_path(callback) + "&user_id=user-2")
    assert r.status_code == 400
    assert "another user" in r.text
    assert await linked.store.tokens.get_tokens("user-1") is None
    assert await linked.store.tokens.get_tokens("user-2") is None


async def test_expired_state_is_refused(linked: Linked) -> None:
    callback = await _authorize(linked, "user-1")
    await linked.clock.advance(601)
    r = await linked.api.get(_path(callback))
    assert r.status_code == 400
    assert "expired" in r.text
    assert await linked.store.tokens.get_tokens("user-1") is None


async def test_access_denied_is_shown_and_nothing_stored(linked: Linked) -> None:
    linked.sim.state.deny_link("user-1", error="access_denied", description="User said no")
    callback = await _authorize(linked, "user-1")
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    r = await linked.api.get(_path(callback))
    assert r.status_code == 400
    assert "access_denied" in r.text
    assert await linked.store.tokens.get_tokens("user-1") is None


async def test_unlink_deauthorizes_at_enode_and_wipes_tokens(linked: Linked) -> None:
    assert (await linked.api.get(_path(await _authorize(linked, "user-1")))).status_code == 200
    r = await linked.api.delete("/v1/users/user-1", headers=WRITE)
    assert r.status_code == 204, r.text
    assert await linked.store.tokens.get_tokens("user-1") is None
    assert await linked.store.users.get_user("user-1") is None
    calls = [(e.method, e.path, e.status) for e in linked.sim.state.log]
    assert ("DELETE", "/users/user-1/authorization", 204) in calls


async def test_webhooks_register_command(sim: RunningSim, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path}"\n[enode]\nclient_id = "{sim.client_id}"\n'
        f'client_secret = "{sim.client_secret}"\napi_url = "{sim.api_url}"\n'
        f'token_url = "{sim.token_url}"\nwebhook_secret = "{WEBHOOK_SECRET}"\n'
    )
    url = "https://scheduler.example/webhooks/enode"
    args = ["--config", str(config), "webhooks", "register", url, "--test"]
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, args)
    assert result.exit_code == 0, result.output
    assert sim.state.webhook == {"url": url, "secret": WEBHOOK_SECRET}
    insecure = [
        "--config",
        str(config),
        "webhooks",
        "register",
        "http://example.com/webhooks/enode",
    ]
    refused = await asyncio.to_thread(CliRunner().invoke, cli_app, insecure)
    assert refused.exit_code == 2
    assert "https" in refused.output


async def test_enode_failure_during_link_is_a_502_problem(linked: Linked) -> None:
    linked.sim.state.add_fault(Fault(kind="server_error", path_prefix="/users/", status=500))
    r = await linked.api.post("/v1/users/user-1/link", headers=WRITE)
    assert r.status_code == 502
    assert r.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in r.text


async def test_unlink_of_a_user_enode_does_not_know_still_wipes_local_data(linked: Linked) -> None:
    await linked.store.users.upsert_user(UserRecord(user_id="ghost"))
    # The sim knows every user; a 404 fault plays an Enode that has never heard of this one.
    path = "/users/ghost/authorization"
    linked.sim.state.add_fault(Fault(kind="server_error", path_prefix=path, status=404))
    r = await linked.api.delete("/v1/users/ghost", headers=WRITE)
    calls = [(e.method, e.path, e.status) for e in linked.sim.state.log]
    assert ("DELETE", path, 404) in calls
    assert r.status_code == 204, r.text
    assert await linked.store.users.get_user("ghost") is None
