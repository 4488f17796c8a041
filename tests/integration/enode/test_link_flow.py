"""The link flow against the sim's link endpoint and authorize page."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from enode_scheduler.enode import EnodeClient
from enode_scheduler.exceptions import LinkError
from enode_scheduler.sim import RunningSim
from enode_scheduler.testing import InMemoryUserStore
from tests.integration.enode.conftest import ClockDriver


async def _authorize(url: str) -> dict[str, str]:
    """What a browser would bring back to the redirect URI after the Link UI."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:8765/oauth/callback?")
    return dict(parse_qsl(urlsplit(location).query))


async def test_right_state_links_the_user(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore
) -> None:
    session = await client.start_link("carol")
    query = dict(parse_qsl(urlsplit(session.authorize_url).query))
    assert query["state"] == session.state
    assert query["scope"] == "offline_access all"
    assert query["redirect_uri"] == "http://127.0.0.1:8765/oauth/callback"
    params = await _authorize(session.authorize_url)
    assert await client.complete_link(params, user_id="carol") == "carol"
    assert store.tokens["carol"].refresh_token
    assert await client.list_vehicles("carol") == []
    link_calls = sim.state.requests(path_prefix="/users/carol/link")
    assert [e.status for e in link_calls] == [200]


async def test_wrong_state_is_refused(client: EnodeClient, store: InMemoryUserStore) -> None:
    session = await client.start_link("carol")
    params = await _authorize(session.authorize_url)
    with pytest.raises(LinkError, match="unknown"):
        await client.complete_link({**params, "state": params["state"] + "x"})
    assert "carol" not in store.tokens


async def test_replayed_state_is_refused(
    client: EnodeClient, store: InMemoryUserStore, sim: RunningSim
) -> None:
    session = await client.start_link("carol")
    params = await _authorize(session.authorize_url)
    await client.complete_link(params)
    first = store.tokens["carol"]
    with pytest.raises(LinkError, match="already used"):
        await client.complete_link(params)
    assert store.tokens["carol"] == first
    exchanges = [e for e in sim.state.requests(path_prefix="/oauth2/token")]
    assert len([e for e in exchanges if "authorization_code" in e.request_body]) == 1


async def test_expired_state_is_refused(
    client: EnodeClient, store: InMemoryUserStore, driver: ClockDriver
) -> None:
    session = await client.start_link("carol")
    params = await _authorize(session.authorize_url)
    await driver.clock.advance(601.0)  # link_state_ttl_s is 600 by default
    with pytest.raises(LinkError, match="expired"):
        await client.complete_link(params)
    assert "carol" not in store.tokens


async def test_state_bound_to_its_user(client: EnodeClient, store: InMemoryUserStore) -> None:
    session = await client.start_link("carol")
    params = await _authorize(session.authorize_url)
    with pytest.raises(LinkError, match="another user"):
        await client.complete_link(params, user_id="mallory")
    assert store.tokens.keys().isdisjoint({"carol", "mallory"})


async def test_access_denied_is_reported(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore
) -> None:
    sim.state.deny_link("dave", error="access_denied", description="The user said no")
    session = await client.start_link("dave")
    params = await _authorize(session.authorize_url)
    assert params["error"] == "access_denied"
    with pytest.raises(LinkError) as info:
        await client.complete_link(params, user_id="dave")
    assert info.value.error == "access_denied"
    assert "The user said no" in str(info.value)
    assert "dave" not in store.tokens


async def test_missing_state_is_refused(client: EnodeClient) -> None:
    with pytest.raises(LinkError, match="without state"):
        await client.complete_link({"code": "abc"})


async def test_deauthorize_and_delete_user(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore
) -> None:
    await client.deauthorize_user("alice")
    assert [e.status for e in sim.state.requests(path_prefix="/users/alice")] == [204]
    await client.delete_user("bob")
    assert "bob" not in sim.state.users
    await client.set_firehose_webhook("https://example.invalid/hook", secret="s" * 32)
    assert sim.state.webhook is not None
