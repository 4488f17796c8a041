"""Injected faults: 429 in both Retry-After forms, 5xx, slow answers, hangs, malformed bodies."""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import Fault, RunningSim
from tests.integration.enode_spec import EnodeSpec, check_problem, spec_hooks
from tests.integration.sim.helpers import vehicle_of


async def _get_state(http: httpx.AsyncClient, vehicle_id: str) -> httpx.Response:
    return await http.get(f"/vehicles/{vehicle_id}/charge-state")


async def test_429_with_retry_after_seconds_for_a_count(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("rate_limit", vendor=car.vendor, retry_after_s=17, count=2))
    first, second, third = [await _get_state(sim_http, car.id) for _ in range(3)]
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "17"
    assert sim.state.counters[car.id].rate_limited == 2


async def test_429_with_retry_after_as_http_date(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    await sim_clock.advance(0.4)
    sim.state.add_fault(Fault("rate_limit", retry_after="http_date", retry_after_s=90))
    response = await _get_state(sim_http, car.id)
    assert response.status_code == 429
    when = parsedate_to_datetime(response.headers["Retry-After"])
    # Whole seconds, rounded up: never earlier than promised.
    assert when == sim_clock.now().replace(microsecond=0) + timedelta(seconds=91)
    # Date is sim time too, so Retry-After minus Date is the wait.
    sent = parsedate_to_datetime(response.headers["Date"])
    assert (when - sent).total_seconds() == 91


async def test_429_without_retry_after_for_a_duration(
    sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("rate_limit", user_id="user-1", retry_after="none", duration_s=60))
    limited = await _get_state(sim_http, car.id)
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
    await sim_clock.advance(59)
    assert (await _get_state(sim_http, car.id)).status_code == 429
    await sim_clock.advance(2)
    assert (await _get_state(sim_http, car.id)).status_code == 200


async def test_a_vendor_fault_spares_other_vendors_and_users(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    hit = vehicle_of(sim)
    spared = next(v for v in sim.state.vehicles.values() if v.user_id == "user-1" and v != hit)
    sim.state.add_fault(Fault("rate_limit", vendor=hit.vendor))
    assert (await _get_state(sim_http, hit.id)).status_code == 429
    assert (await _get_state(sim_http, spared.id)).status_code == 200
    sim.state.clear_faults()
    sim.state.add_fault(Fault("rate_limit", user_id="user-2"))
    assert (await _get_state(sim_http, hit.id)).status_code == 200


async def test_a_fault_can_target_one_method(sim: RunningSim, sim_http: httpx.AsyncClient) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("rate_limit", method="POST", path_prefix="/vehicles/"))
    assert (await _get_state(sim_http, car.id)).status_code == 200
    post = await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
    assert post.status_code == 429
    assert sim.state.counters[car.id].commands_received == 0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors(sim: RunningSim, sim_http: httpx.AsyncClient, status: int) -> None:
    sim.state.add_fault(Fault("server_error", status=status, count=1))
    response = await sim_http.get("/vehicles")
    assert response.status_code == status
    check_problem(status, dict(response.headers), response.content)
    assert (await sim_http.get("/vehicles")).status_code == 200


async def test_a_slow_answer_outlasts_a_short_client_timeout(
    enode_spec: EnodeSpec, sim: RunningSim, user_token: str
) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("slow", delay_s=0.5, count=1))
    headers = {"Authorization": f"Bearer {user_token}"}
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec), base_url=sim.api_url, headers=headers, timeout=0.1
    ) as http:
        with pytest.raises(httpx.ReadTimeout):
            await _get_state(http, car.id)
        assert (await _get_state(http, car.id)).status_code == 200


async def test_a_slow_answer_still_arrives(sim: RunningSim, sim_http: httpx.AsyncClient) -> None:
    sim.state.add_fault(Fault("slow", delay_s=0.05, count=1))
    response = await sim_http.get("/vehicles")
    assert response.status_code == 200
    assert sim.state.log[-1].fault == "slow"


async def test_a_hang_times_the_client_out_and_does_not_block_shutdown(
    enode_spec: EnodeSpec, sim: RunningSim, user_token: str
) -> None:
    sim.state.add_fault(Fault("timeout", hang_s=120))
    headers = {"Authorization": f"Bearer {user_token}"}
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec), base_url=sim.api_url, headers=headers, timeout=0.2
    ) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/vehicles")
    # The fixture's teardown now stops the sim; a hung handler must not keep it alive.


async def test_malformed_invalid_json(sim: RunningSim) -> None:
    sim.state.add_fault(Fault("malformed", malformed="invalid_json", count=1))
    response = await _raw(sim, "/vehicles")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


@pytest.mark.parametrize("form", ["wrong_types", "missing_fields"])
async def test_malformed_json_breaks_the_spec(
    sim: RunningSim, enode_spec: EnodeSpec, form: str
) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("malformed", malformed=form, count=1))  # type: ignore[arg-type]
    broken = await _raw(sim, f"/vehicles/{car.id}?field[]=chargeState")
    json.loads(broken.content)
    with pytest.raises(AssertionError, match="breaks the spec"):
        enode_spec.check_response(broken)
    healthy = await _raw(sim, f"/vehicles/{car.id}?field[]=chargeState")
    enode_spec.check_response(healthy)


async def _raw(sim: RunningSim, path: str) -> httpx.Response:
    """A GET as user-1 without the spec-checking hook (the answers here break it on purpose)."""
    token = sim.state.issue_user_token("user-1").access_token
    async with httpx.AsyncClient(base_url=sim.api_url) as http:
        return await http.get(path, headers={"Authorization": f"Bearer {token}"})


async def test_global_faults_spare_the_token_endpoint(sim: RunningSim) -> None:
    sim.state.add_fault(Fault("server_error"))
    async with httpx.AsyncClient() as http:
        token = await http.post(
            sim.token_url,
            data={"grant_type": "client_credentials"},
            auth=(sim.client_id, sim.client_secret),
        )
        assert token.status_code == 200
        sim.state.add_fault(Fault("server_error", path_prefix="/oauth2/token", status=502))
        sim.state.remove_fault(sim.state.faults.all(sim.state.now())[0].id)
        broken = await http.post(
            sim.token_url,
            data={"grant_type": "client_credentials"},
            auth=(sim.client_id, sim.client_secret),
        )
    assert broken.status_code == 502


async def test_a_vendor_quota_limits_each_user_per_window(
    enode_spec: EnodeSpec, sim: RunningSim, sim_clock: FakeClock, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("quota", vendor=car.vendor, quota_requests=3, quota_window_s=60))
    statuses = []
    for _ in range(4):
        statuses.append((await _get_state(sim_http, car.id)).status_code)
        await sim_clock.advance(10)
    assert statuses == [200, 200, 200, 429]
    limited = sim.state.log[-1]
    assert limited.fault == "quota"
    # Asked at t=40: the oldest request (t=0) leaves the 60 s window in 20 s.
    assert (await _get_state(sim_http, car.id)).headers["Retry-After"] == "20"
    await sim_clock.advance(20)
    assert (await _get_state(sim_http, car.id)).status_code == 200
    other = sim.state.issue_user_token("user-2").access_token
    theirs = vehicle_of(sim, "user-2")
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec),
        base_url=sim.api_url,
        headers={"Authorization": f"Bearer {other}"},
    ) as http:
        assert (await _get_state(http, theirs.id)).status_code == 200


@pytest.mark.parametrize("kind", ["timeout", "server_error"])
async def test_an_applied_fault_loses_the_answer_but_not_the_command(
    enode_spec: EnodeSpec, sim: RunningSim, sim_clock: FakeClock, user_token: str, kind: str
) -> None:
    car = vehicle_of(sim)
    sim.state.set_command_delay(0)
    sim.state.plug(car.id)
    sim.state.set_soc(car.id, 30)
    sim.state.set_charge_limit(car.id, 90)
    sim.state.add_fault(Fault(kind, applied=True, hang_s=30, count=1))  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {user_token}"}
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec), base_url=sim.api_url, headers=headers, timeout=0.2
    ) as http:
        try:
            answer = await http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
            assert answer.status_code == 503
        except httpx.ReadTimeout:
            assert kind == "timeout"
    assert sim.state.counters[car.id].commands_received == 1
    assert sim.state.vehicle(car.id).reasons == ["MANUALLY_STOPPED"]


async def test_an_unapplied_fault_drops_the_command(
    sim: RunningSim, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.add_fault(Fault("server_error", count=1))
    answer = await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
    assert answer.status_code == 503
    assert sim.state.counters[car.id].commands_received == 0
