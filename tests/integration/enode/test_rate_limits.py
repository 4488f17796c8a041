"""429 handling on the wire: gates per (user, vendor), Retry-After forms, backoff, pacing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest

from enode_scheduler.enode import EnodeClient
from enode_scheduler.exceptions import (
    EnodeGateClosed,
    EnodeRateLimited,
    EnodeServerError,
)
from enode_scheduler.records import ChargeAction
from enode_scheduler.sim import Fault, RunningSim
from enode_scheduler.sim.state import LogEntry
from tests.integration.enode.conftest import ClockDriver, vehicles_of

MakeClient = Callable[..., contextlib.AbstractAsyncContextManager[EnodeClient]]


def _car(sim: RunningSim, user_id: str) -> tuple[str, str]:
    vehicle_id = vehicles_of(sim, user_id)[0]
    return vehicle_id, sim.state.vehicles[vehicle_id].vendor


def _sent(sim: RunningSim, user_id: str, vendor: str | None = None) -> list[LogEntry]:
    return [
        e
        for e in sim.state.requests(path_prefix="/vehicles")
        if e.user_id == user_id and (vendor is None or e.vendor == vendor)
    ]


@pytest.mark.parametrize("form", ["seconds", "http_date"])
async def test_get_waits_out_a_short_retry_after_then_succeeds(
    client: EnodeClient, sim: RunningSim, form: str
) -> None:
    vehicle_id, vendor = _car(sim, "alice")
    await client.get_vehicle("alice", vehicle_id)  # learns the vendor
    sim.state.add_fault(
        Fault(
            "rate_limit",
            user_id="alice",
            vendor=vendor,
            count=1,
            retry_after=form,
            retry_after_s=20.0,
        )
    )
    reading = await client.get_vehicle("alice", vehicle_id)
    assert reading.vehicle_id == vehicle_id
    limited, retried = _sent(sim, "alice", vendor)[-2:]
    assert limited.status == 429
    assert retried.status == 200
    assert retried.sim_time - limited.sim_time >= timedelta(seconds=20)
    assert client.metrics.rate_limited["get_vehicle"] == 1
    # An HTTP-date counts from when the answer is read, and the driven clock moves meanwhile.
    assert client.metrics.gated_seconds_total >= (20.0 if form == "seconds" else 1.0)


async def test_get_with_a_long_retry_after_raises_at_once_for_the_caller_to_reschedule(
    client: EnodeClient, sim: RunningSim
) -> None:
    vehicle_id, vendor = _car(sim, "alice")
    await client.get_vehicle("alice", vehicle_id)  # learns the vendor
    sim.state.add_fault(
        Fault("rate_limit", user_id="alice", vendor=vendor, count=1, retry_after_s=120.0)
    )
    before = len(_sent(sim, "alice", vendor))
    with pytest.raises(EnodeRateLimited) as caught:
        await client.get_vehicle("alice", vehicle_id)
    # max_inline_wait_s (30 s by default) is shorter than the vendor's 120 s: no waiting inside
    # the call, one request on the wire, and the gate stays closed for the whole Retry-After.
    assert caught.value.retry_after_s == pytest.approx(120.0)
    assert len(_sent(sim, "alice", vendor)) == before + 1
    with pytest.raises(EnodeGateClosed):
        await client.get_vehicle("alice", vehicle_id)


@pytest.mark.parametrize("form", ["seconds", "http_date"])
async def test_closed_gate_sends_nothing_until_retry_after_ends(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver, form: str
) -> None:
    driver.step_s = 0.001  # time barely moves unless this test says so
    clock = driver.clock
    vehicle_id, vendor = _car(sim, "alice")
    async with make_client(get_retries=0, max_requests_per_s=1e6) as client:
        await client.get_vehicle("alice", vehicle_id)
        sim.state.add_fault(
            Fault(
                "rate_limit",
                user_id="alice",
                vendor=vendor,
                count=1,
                retry_after=form,
                retry_after_s=120.0,
            )
        )
        with pytest.raises(EnodeRateLimited) as info:
            await client.set_charging("alice", vehicle_id, ChargeAction.START)
        assert info.value.retry_after_s == pytest.approx(120.0, abs=1.0)
        before = len(_sent(sim, "alice", vendor))
        await clock.advance(60.0)
        with pytest.raises(EnodeGateClosed) as gated:
            await client.get_vehicle("alice", vehicle_id)
        assert 0 < gated.value.reopens_in_s <= 61.0
        # Bob, and Alice's other vendors, go on.
        bob_car, _ = _car(sim, "bob")
        await client.get_vehicle("bob", bob_car)
        assert len(_sent(sim, "alice", vendor)) == before
        assert client.metrics.gate_refusals["get_vehicle"] == 1
        await clock.advance(61.0)
        await client.get_vehicle("alice", vehicle_id)
        assert len(_sent(sim, "alice", vendor)) == before + 1


async def test_backoff_without_retry_after_grows_and_resets(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    driver.step_s = 0.001
    clock = driver.clock
    vehicle_id, vendor = _car(sim, "alice")
    async with make_client(
        get_retries=0, backoff_base_s=4.0, backoff_cap_s=20.0, max_requests_per_s=1e6
    ) as client:
        await client.get_vehicle("alice", vehicle_id)
        sim.state.add_fault(Fault("rate_limit", user_id="alice", vendor=vendor, retry_after="none"))
        waits = []
        for attempt in range(6):
            with pytest.raises(EnodeRateLimited) as info:
                await client.get_vehicle("alice", vehicle_id)
            wait = info.value.retry_after_s
            assert wait is not None
            assert 0.0 <= wait <= min(20.0, 4.0 * 2**attempt)
            waits.append(wait)
            await clock.advance(wait + 0.001)
        assert max(waits) > 4.0  # it did grow past the base
        sim.state.clear_faults()
        await client.get_vehicle("alice", vehicle_id)
        assert client.gates.consecutive_429("alice", vendor) == 0


async def test_start_stop_is_never_retried(client: EnodeClient, sim: RunningSim) -> None:
    vehicle_id, vendor = _car(sim, "bob")
    sim.state.add_fault(
        Fault(
            "rate_limit",
            user_id="bob",
            path_prefix="/vehicles",
            method="POST",
            count=1,
            retry_after_s=1.0,
        )
    )
    with pytest.raises(EnodeRateLimited):
        await client.set_charging("bob", vehicle_id, ChargeAction.START, vendor=vendor)
    sim.state.add_fault(
        Fault(
            "server_error",
            user_id="bob",
            path_prefix="/vehicles",
            method="POST",
            count=1,
            status=502,
        )
    )
    await _when_open(client, "bob", vendor)  # the driver moves the clock past Retry-After
    with pytest.raises(EnodeServerError):
        await client.set_charging("bob", vehicle_id, ChargeAction.START, vendor=vendor)
    posts = [e for e in _sent(sim, "bob") if e.method == "POST"]
    assert [p.status for p in posts] == [429, 502]
    assert sim.state.counters[vehicle_id].starts == 0


async def _when_open(client: EnodeClient, user_id: str, vendor: str) -> None:
    for _ in range(200):
        if client.gates.reopens_in_s(user_id, vendor) == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("gate never reopened")


async def test_get_retries_transient_errors_within_budget(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    vehicle_id, _ = _car(sim, "alice")
    async with make_client(get_retries=3, backoff_base_s=0.5) as client:
        sim.state.add_fault(Fault("server_error", user_id="alice", count=2))
        await client.get_vehicle("alice", vehicle_id)
        assert [e.status for e in _sent(sim, "alice")] == [503, 503, 200]
        sim.state.add_fault(Fault("server_error", user_id="alice", count=10, status=500))
        with pytest.raises(EnodeServerError):
            await client.get_vehicle("alice", vehicle_id)
        assert [e.status for e in _sent(sim, "alice")][3:] == [500] * 4


async def test_vendor_in_outage_is_paused(client: EnodeClient, sim: RunningSim) -> None:
    vehicle_id, vendor = _car(sim, "alice")
    await client.get_vehicle("alice", vehicle_id)
    sim.state.set_vendor_status(vendor, "OUTAGE")
    await client.vendor_health()
    before = len(_sent(sim, "alice"))
    with pytest.raises(EnodeGateClosed):
        await client.get_vehicle("alice", vehicle_id)
    assert len(_sent(sim, "alice")) == before
    sim.state.set_vendor_status(vendor, "READY")
    await client.vendor_health()
    await client.get_vehicle("alice", vehicle_id)


async def test_global_pace_holds_under_100_concurrent_callers(
    make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    rate = 10.0
    driver.step_s = 0.01  # finer steps: less clock drift while requests are in transit
    cars = [(u, v) for u in ("alice", "bob") for v in vehicles_of(sim, u)]
    async with make_client(max_requests_per_s=rate) as client:
        sim.state.clear_log()
        await asyncio.gather(*(client.get_vehicle(*cars[i % len(cars)]) for i in range(100)))
    times = sorted(e.sim_time for e in sim.state.requests(path_prefix="/vehicles"))
    assert len(times) == 100
    # Any one-second window holds at most `rate` sends, plus one for time moving in transit.
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start < timedelta(seconds=1))
        assert in_window <= rate + 1
    assert times[-1] - times[0] >= timedelta(seconds=(100 - 1) / rate - 1)
