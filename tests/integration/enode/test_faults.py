"""Malformed bodies, timeouts and error bodies give typed errors, never a crash."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode import EnodeClient, open_enode_client
from enode_scheduler.exceptions import (
    EnodeBadRequest,
    EnodeMalformedResponse,
    EnodeNotFound,
    EnodeTransportError,
)
from enode_scheduler.records import ChargeAction
from enode_scheduler.sim import Fault, RunningSim
from enode_scheduler.testing import InMemoryUserStore
from tests.integration.enode.conftest import ClockDriver, vehicles_of
from tests.integration.enode.spec_check import SpecChecker

MakeClient = Callable[..., contextlib.AbstractAsyncContextManager[EnodeClient]]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ("invalid_json", "Invalid JSON"),
        ("missing_fields", "missing"),
        ("wrong_types", "bad"),
    ],
)
async def test_malformed_bodies_raise_typed_errors(
    make_client: MakeClient,
    sim: RunningSim,
    checker: SpecChecker,
    driver: ClockDriver,
    form: str,
    message: str,
) -> None:
    vehicle_id = vehicles_of(sim, "alice")[0]
    sim.state.add_fault(Fault("malformed", user_id="alice", malformed=form))  # type: ignore[arg-type]
    async with make_client() as client:
        with pytest.raises(EnodeMalformedResponse, match=message):
            await client.get_vehicle("alice", vehicle_id)
        with pytest.raises(EnodeMalformedResponse):
            await client.list_vehicles("alice")
    # The spec check saw the same breakage: proof that it looks at every answer.
    assert len(checker.violations) == 2
    assert all(v.startswith("response GET /vehicles") for v in checker.violations)


async def test_timeout_is_a_transport_error(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    vehicle_id = vehicles_of(sim, "alice")[0]
    sim.state.add_fault(Fault("timeout", user_id="alice", hang_s=5.0))
    async with make_client(read_timeout_s=0.2, get_retries=1, backoff_base_s=0.1) as client:
        with pytest.raises(EnodeTransportError, match="timed out"):
            await client.get_vehicle("alice", vehicle_id)
        assert client.metrics.requests[("get_vehicle", "transport")] == 2


async def test_one_timeout_then_success_is_retried(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    vehicle_id = vehicles_of(sim, "alice")[0]
    sim.state.add_fault(Fault("timeout", user_id="alice", hang_s=5.0, count=1))
    async with make_client(read_timeout_s=0.2, get_retries=2, backoff_base_s=0.1) as client:
        reading = await client.get_vehicle("alice", vehicle_id)
    assert reading.vehicle_id == vehicle_id


async def test_connection_refused_is_a_transport_error(
    make_client: MakeClient, driver: ClockDriver
) -> None:
    async with make_client(api_url="http://127.0.0.1:9", get_retries=0) as client:
        with pytest.raises(EnodeTransportError, match="failed"):
            await client.health_ready()


async def test_not_found_and_bad_request(
    client: EnodeClient, sim: RunningSim, checker: SpecChecker
) -> None:
    with pytest.raises(EnodeNotFound) as info:
        await client.get_vehicle("alice", "no-such-car")
    assert info.value.problem_type == "https://docs.enode.io/problems/not-found"
    vehicle_id = vehicles_of(sim, "alice")[0]
    with pytest.raises(EnodeBadRequest) as bad:
        await client.vehicle("alice", vehicle_id, fields=["colour"])
    assert bad.value.title
    # The spec check flagged our own bad field[] too; drop it so teardown passes.
    assert [v for v in checker.violations if "field" in v or "GET /vehicles" in v]
    checker.violations.clear()


async def test_a_retry_that_is_not_allowed_draws_no_jitter(
    make_settings: Callable[..., EnodeSettings],
    store: InMemoryUserStore,
    clock: FakeClock,
    driver: ClockDriver,
) -> None:
    # The jitter rng is shared with the 429 gates; a refused retry must leave it alone.
    rng = random.Random(5)
    settings = make_settings(api_url="http://127.0.0.1:9", get_retries=0)
    async with (
        httpx.AsyncClient() as http,
        open_enode_client(settings, token_store=store, clock=clock, http=http, rng=rng) as client,
    ):
        with pytest.raises(EnodeTransportError):
            await client.set_charging("alice", "v1", ChargeAction.START)  # a POST: never retried
        with pytest.raises(EnodeTransportError):
            await client.get_vehicle("alice", "v1")  # no GET retries configured
    assert client.metrics.requests[("get_vehicle", "transport")] == 1
    assert rng.getstate() == random.Random(5).getstate()
