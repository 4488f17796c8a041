"""Per-user tokens: expiry, refresh on 401, one refresh per user, re-link; no token in logs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import structlog
from structlog.testing import capture_logs

from enode_scheduler.enode import EnodeClient
from enode_scheduler.exceptions import NeedsRelink
from enode_scheduler.records import ChargeAction, UserTokens
from enode_scheduler.sim import RunningSim
from enode_scheduler.testing import InMemoryUserStore
from tests.integration.enode.conftest import ClockDriver, vehicles_of


async def test_expired_token_is_refreshed_before_use(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore, driver: ClockDriver
) -> None:
    old = store.tokens["alice"]
    await driver.clock.advance(3600.0)
    readings = await client.list_vehicles("alice")
    assert len(readings) == len(vehicles_of(sim, "alice"))
    new = store.tokens["alice"]
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token  # the sim rotates refresh tokens
    assert new.expires_at > driver.clock.now() + timedelta(seconds=3000)
    # It was refreshed before the call, so the API never saw the dead token.
    assert [e.status for e in sim.state.requests(path_prefix="/vehicles")] == [200]


async def test_401_refreshes_once_and_retries(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore
) -> None:
    sim.state.expire_tokens()  # the client still thinks its token is good
    await client.list_vehicles("bob")
    assert [e.status for e in sim.state.requests(path_prefix="/vehicles")] == [401, 200]
    assert client.metrics.token_refreshes["user"] == 1
    assert store.saves == 1


async def test_401_on_a_command_refreshes_and_sends_once(
    client: EnodeClient, sim: RunningSim
) -> None:
    vehicle_id = vehicles_of(sim, "bob")[0]
    sim.state.plug(vehicle_id)
    sim.state.expire_tokens()
    await client.set_charging("bob", vehicle_id, ChargeAction.START)
    assert sim.state.counters[vehicle_id].starts == 1
    posts = [e.status for e in sim.state.requests(path_prefix="/vehicles") if e.method == "POST"]
    assert posts == [401, 204]


async def test_concurrent_callers_share_one_refresh(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore
) -> None:
    cars = vehicles_of(sim, "alice")
    sim.state.expire_tokens()
    readings = await asyncio.gather(
        *(client.get_vehicle("alice", cars[i % len(cars)]) for i in range(20))
    )
    assert len(readings) == 20
    # With rotating refresh tokens a second refresh would have failed and forced a re-link.
    assert client.metrics.token_refreshes["user"] == 1
    assert store.needs_relink == {}


async def test_failed_refresh_marks_needs_relink(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore
) -> None:
    sim.state.revoke_user_tokens("alice")
    with pytest.raises(NeedsRelink) as info:
        await client.list_vehicles("alice")
    assert info.value.user_id == "alice"
    assert "refresh refused" in store.needs_relink["alice"]
    # Bob is unaffected.
    assert await client.list_vehicles("bob")


async def test_forbidden_marks_needs_relink(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore, driver: ClockDriver
) -> None:
    issued = sim.state.issue_user_token("alice", scopes=("vehicle:information",))
    expires_at = driver.clock.now() + timedelta(seconds=issued.expires_in_s)
    store.tokens["alice"] = UserTokens(issued.access_token, issued.refresh_token, expires_at)
    vehicle_id = vehicles_of(sim, "alice")[0]
    with pytest.raises(NeedsRelink):
        await client.set_charging("alice", vehicle_id, ChargeAction.STOP)
    assert store.needs_relink["alice"] == "HTTP 403"
    assert sim.state.counters[vehicle_id].stops == 0


async def test_no_tokens_means_needs_relink(client: EnodeClient, store: InMemoryUserStore) -> None:
    with pytest.raises(NeedsRelink):
        await client.list_vehicles("nobody")
    assert "nobody" in store.needs_relink


async def test_tokens_never_reach_the_logs(
    client: EnodeClient, sim: RunningSim, store: InMemoryUserStore, driver: ClockDriver
) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    secrets_seen: set[str] = {sim.client_secret}
    try:
        with capture_logs() as events:
            for user_id in ("alice", "bob"):
                secrets_seen.add(store.tokens[user_id].access_token)
                secrets_seen.add(store.tokens[user_id].refresh_token or "")
            sim.state.expire_tokens()
            await client.list_vehicles("alice")
            await driver.clock.advance(4000.0)
            await client.list_vehicles("bob")
            session = await client.start_link("carol")
            sim.state.revoke_user_tokens("alice")
            with pytest.raises(NeedsRelink) as info:
                await client.list_vehicles("alice")
            for user_id in ("alice", "bob"):
                if user_id in store.tokens:
                    secrets_seen.add(store.tokens[user_id].access_token)
                    secrets_seen.add(store.tokens[user_id].refresh_token or "")
    finally:
        structlog.reset_defaults()
    secrets_seen.discard("")
    assert events, "nothing was logged, so the check would prove nothing"
    assert {e["event"] for e in events} >= {"enode_user_token_refreshed", "enode_request"}
    text = repr(events) + str(info.value) + repr(store.tokens)
    for secret in secrets_seen:
        assert secret not in text
    assert session.state not in repr(events)
