"""The real daemon serving the API, over SQLite and an in-process sim on a fast clock: link
through the API, set a plan through the API, and read back the schedule the daemon computed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from enode_scheduler.bootstrap import Deps, build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import ApiSettings, EnodeSettings, SchedulerSettings, Settings
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
from tests.integration.api.conftest import _empty_postgres
from tests.integration.api.support import READ, WEBHOOK_SECRET, WRITE, api_settings
from tests.unit.daemon.support import daemon_settings

START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)  # packaged NO1 prices cover this week


async def until(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 15.0) -> None:
    """Wait (real time: real sockets and a scaled clock) until `check()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(start=START, speed=600)


@pytest.fixture
def scheduler() -> SchedulerSettings:
    return SchedulerSettings(verify_delay_s=90, deadline_margin_s=600)


# Polls a sim day apart (over two real minutes at 600x): only a trigger makes the daemon read.
RARE_POLLS = SchedulerSettings(
    verify_delay_s=90, deadline_margin_s=600, poll_plugged_s=86400, poll_unplugged_s=86400
)


@dataclass
class Running:
    daemon: Daemon
    api: httpx.AsyncClient
    sim: RunningSim
    deps: Deps


@pytest.fixture
async def database_url(request: pytest.FixtureRequest) -> str | None:
    """SQLite in tmp_path (None); a test parametrizes it ("postgres", indirect) to run on the
    session's PostgreSQL API database, emptied."""
    if getattr(request, "param", "sqlite") != "postgres":
        return None
    url: str = request.getfixturevalue("api_postgres_url")
    await _empty_postgres(url)
    return url


@pytest.fixture
async def running(
    tmp_path: Path, clock: ScaledClock, scheduler: SchedulerSettings, database_url: str | None
) -> AsyncIterator[Running]:
    """The sim with one plugged-in car, and the daemon serving the API, with u1 not yet linked."""
    config = SimConfig(vehicles=0, users=1, user_ids=("u1",), smart_charging_every=0)
    async with run_sim(config, clock=clock) as sim:
        _car(sim)
        settings = _settings(tmp_path, sim, scheduler, database_url)
        async with build(settings, clock=clock) as deps:
            daemon = Daemon(deps, install_signals=False, holder="api-test")
            task = asyncio.create_task(daemon.run())
            await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
            base = f"http://127.0.0.1:{daemon.health_port}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as api:
                yield Running(daemon, api, sim, deps)
            daemon.stop()
            assert await asyncio.wait_for(task, timeout=15) == 0


async def test_link_plan_and_schedule_through_the_daemons_api(running: Running) -> None:
    api = running.api
    await _link(api, running.sim)
    vehicles = (await api.get("/v1/users/u1/vehicles", headers=READ)).json()
    assert [v["vehicle_id"] for v in vehicles["vehicles"]] == ["car-1"]
    plan = {"target_soc_percent": 60, "deadline": "2025-10-24T05:00:00Z"}
    r = await api.put("/v1/vehicles/car-1/plan", json=plan, headers=WRITE)
    assert r.status_code == 200, r.text

    async def scheduled() -> bool:
        got = await api.get("/v1/vehicles/car-1/schedule", headers=READ)
        return got.json()["schedule"] is not None

    await until(scheduled)
    body = (await api.get("/v1/vehicles/car-1/schedule", headers=READ)).json()
    assert (await api.get("/healthz")).status_code == 200
    schedule = body["schedule"]
    assert schedule["feasible"] is True
    assert schedule["windows"]
    assert all(w["explanation"] for w in schedule["windows"])
    assert schedule["expected_soc_at_deadline_percent"] >= 59.9
    assert schedule["saving"] == pytest.approx(
        schedule["cost_if_charged_now"] - schedule["expected_cost"]
    )


async def test_sim_firehose_deliveries_are_verified_and_applied(running: Running) -> None:
    await _link(running.api, running.sim)
    url = f"http://127.0.0.1:{running.daemon.health_port}/webhooks/enode"
    await running.deps.enode.set_firehose_webhook(url, secret=WEBHOOK_SECRET)
    # Unplugged, so the SoC holds still; the car has no plan, so the daemon does not poll it.
    running.sim.state.unplug("car-1")
    running.sim.state.set_soc("car-1", 47.0)
    delivery = await running.sim.state.deliver_webhook("car-1")
    assert delivery is not None
    assert delivery.status == 200, delivery.error
    stored = await running.deps.store.vehicles.latest_readings(["car-1"])
    assert stored["car-1"].soc_percent == 47.0
    assert stored["car-1"].is_plugged_in is False
    # A firehose signed with another secret is refused and changes nothing.
    await running.deps.enode.set_firehose_webhook(url, secret="not-the-configured-secret")
    running.sim.state.set_soc("car-1", 90.0)
    refused = await running.sim.state.deliver_webhook("car-1")
    assert refused is not None
    assert refused.status == 401
    stored = await running.deps.store.vehicles.latest_readings(["car-1"])
    assert stored["car-1"].soc_percent == 47.0


async def _planned(running: Running) -> None:
    """Link u1 and give car-1 a plan through the API; returns once the daemon scheduled it."""
    api = running.api
    await _link(api, running.sim)
    plan = {"target_soc_percent": 60, "deadline": "2025-10-24T05:00:00Z"}
    assert (await api.put("/v1/vehicles/car-1/plan", json=plan, headers=WRITE)).status_code == 200

    async def scheduled() -> bool:
        got = await api.get("/v1/vehicles/car-1/schedule", headers=READ)
        return got.json()["schedule"] is not None

    await until(scheduled)


async def test_overrides_through_the_api_drive_the_running_daemon(running: Running) -> None:
    await _planned(running)
    sim, api = running.sim, running.api

    async def charging() -> bool:
        return sim.state.vehicle("car-1").charging

    async def idle() -> bool:
        return not sim.state.vehicle("car-1").charging

    # 16:00 in Oslo is not a cheap hour: the plan keeps the car idle.
    await until(idle)
    boost = {"action": "charge_now", "until_soc_percent": 95}
    r = await api.post("/v1/vehicles/car-1/override", json=boost, headers=WRITE)
    assert r.status_code == 200, r.text
    await until(charging)
    assert (await api.delete("/v1/vehicles/car-1/override", headers=WRITE)).status_code == 204
    await until(idle)
    assert sim.state.vehicle("car-1").soc_percent < 95


@pytest.mark.parametrize("scheduler", [RARE_POLLS])
@pytest.mark.parametrize(
    "database_url",
    # On PostgreSQL the webhook's wake-up goes out on the NOTIFY channel and comes back to the
    # daemon's own listener (daemon/wakeups.py): the car is read at once all the same.
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_a_webhook_update_makes_the_daemon_read_the_car_now(running: Running) -> None:
    await _planned(running)
    car = running.daemon.reconciler.cars["car-1"]

    async def settled() -> bool:
        return car.intent is None and not running.sim.state.vehicle("car-1").charging

    await until(settled)  # the stop sent at plug-in is verified: no read is due for a sim day
    read_before = car.read_at
    url = f"http://127.0.0.1:{running.daemon.health_port}/webhooks/enode"
    await running.deps.enode.set_firehose_webhook(url, secret=WEBHOOK_SECRET)
    running.sim.state.set_soc("car-1", 52.0)
    delivery = await running.sim.state.deliver_webhook("car-1")
    assert delivery is not None
    assert delivery.status == 200, delivery.error

    async def reread() -> bool:
        return car.reading is not None and car.reading.soc_percent == pytest.approx(52.0, abs=0.5)

    await until(reread, timeout_s=10)
    assert car.read_at != read_before


def _car(sim: RunningSim) -> None:
    sim.state.add_vehicle(
        "u1", vendor="TESLA", id="car-1", soc_percent=40.0, charge_limit_percent=100.0
    )
    sim.state.plug("car-1")


def _settings(
    tmp_path: Path, sim: RunningSim, scheduler: SchedulerSettings, database_url: str | None = None
) -> Settings:
    base = daemon_settings(
        tmp_path, sim, database_url=database_url, listen="127.0.0.1:0", scheduler=scheduler
    )
    enode = EnodeSettings.model_validate(
        base.enode.model_dump() | {"webhook_secret": SecretStr(WEBHOOK_SECRET)}
    )
    api = ApiSettings.model_validate(api_settings().model_dump() | {"listen": "127.0.0.1:0"})
    return base.model_copy(update={"enode": enode, "api": api})


async def _link(api: httpx.AsyncClient, sim: RunningSim) -> None:
    started = await api.post("/v1/users/u1/link", headers=WRITE)
    assert started.status_code == 200, started.text
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(started.json()["authorize_url"])
    assert page.status_code == 302
    redirect = urlsplit(page.headers["location"])
    done = await api.get(f"{redirect.path}?{redirect.query}")
    assert done.status_code == 200, done.text


async def test_status_shows_a_vendor_outage_and_a_user_who_must_link_again(
    running: Running,
) -> None:
    api = running.api
    await _link(api, running.sim)
    plan = {"target_soc_percent": 60, "deadline": "2025-10-24T05:00:00Z"}
    assert (await api.put("/v1/vehicles/car-1/plan", json=plan, headers=WRITE)).status_code == 200
    running.sim.state.set_vendor_status("TESLA", "OUTAGE")
    await running.daemon.check_vendors()
    await running.deps.store.users.mark_needs_relink("u-gone", reason="refresh refused")

    async def outage() -> bool:
        got = (await api.get("/v1/status", headers=READ)).json()
        return [v["status"] for v in got["vehicles"]] == ["vendor_outage"]

    await until(outage)
    body = (await api.get("/v1/status", headers=READ)).json()
    assert body["vehicles"][0]["vehicle_id"] == "car-1"
    assert {u["user_id"]: u["status"] for u in body["users"]} == {
        "u1": "linked",
        "u-gone": "relink_required",
    }
    assert (await api.get("/v1/status")).status_code == 401
