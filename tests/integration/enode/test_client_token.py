"""The client-credentials token: cached, fetched once under concurrency, renewed near expiry."""

from __future__ import annotations

import asyncio

from enode_scheduler.enode import EnodeClient
from enode_scheduler.sim import RunningSim
from tests.integration.enode.conftest import ClockDriver


def _client_grants(sim: RunningSim) -> int:
    return sum(
        1
        for e in sim.state.requests(path_prefix="/oauth2/token")
        if "client_credentials" in e.request_body
    )


async def test_concurrent_admin_calls_fetch_one_client_token(
    client: EnodeClient, sim: RunningSim
) -> None:
    states = await asyncio.gather(*(client.create_link_state(f"u{i}") for i in range(20)))
    assert len(set(states)) == 20
    assert _client_grants(sim) == 1


async def test_client_token_renewed_near_expiry(
    client: EnodeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    await client.create_link_state("u1")
    await driver.clock.advance(3000.0)
    await client.create_link_state("u2")
    assert _client_grants(sim) == 1  # still fresh: reused
    await driver.clock.advance(590.0)  # within the renewal margin of its 3600 s life
    await client.create_link_state("u3")
    assert _client_grants(sim) == 2


async def test_client_token_refused_once_is_fetched_again(
    client: EnodeClient, sim: RunningSim
) -> None:
    await client.create_link_state("u1")
    sim.state.expire_tokens()
    await client.test_firehose_webhook()
    assert _client_grants(sim) == 2
    statuses = [e.status for e in sim.state.requests(path_prefix="/webhooks")]
    assert statuses[0] == 401
    assert statuses[-1] < 300


async def test_metrics_snapshot_counts_by_operation_and_status(
    client: EnodeClient, sim: RunningSim
) -> None:
    await client.list_vehicles("alice")
    await client.list_vehicles("bob")
    snapshot = client.metrics.snapshot()
    assert snapshot["requests"] == {"list_vehicles 200": 2}
    assert snapshot["rate_limited"] == {}
    assert client.metrics.sent_total() == 2
