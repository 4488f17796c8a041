"""The API with its health and metrics routes over stand-ins for the daemon's state, served by
the daemon's uvicorn server on loopback, the way `enode-scheduler run` serves it when `[api]
listen` is set."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from enode_scheduler.api.app import create_api
from enode_scheduler.api.routes.health import health_routers
from enode_scheduler.daemon.server import bound_port, make_server
from enode_scheduler.records import UserRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import READ, WEBHOOK_SECRET, api_settings, reading, signed


def _ready() -> tuple[bool, dict[str, object]]:
    return True, {"leader": True, "vehicles": 1}


def _metrics() -> str:
    return "enode_scheduler_up 1\n"


@pytest.fixture
async def served(mem_api: Api) -> AsyncIterator[httpx.AsyncClient]:
    public, metrics = health_routers(ready=_ready, metrics=_metrics)
    app = create_api(
        mem_api.deps,
        api_settings(metrics_require_token=True),
        webhook_secret=WEBHOOK_SECRET,
        public_routers=[public],
        metrics_router=metrics,
    )
    server = make_server(app, "127.0.0.1:0")
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    port = bound_port(server)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
        yield client
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


async def test_health_open_metrics_guarded_api_served(served: httpx.AsyncClient) -> None:
    assert (await served.get("/healthz")).text == "ok\n"
    ready = await served.get("/readyz")
    assert ready.json() == {"ready": True, "leader": True, "vehicles": 1}
    denied = await served.get("/metrics")
    assert denied.status_code == 401
    assert denied.headers["content-type"] == "application/problem+json"
    assert "enode_scheduler_up 1" in (await served.get("/metrics", headers=READ)).text
    doc = (await served.get("/openapi.json")).json()
    assert "/healthz" not in doc["paths"]
    assert "/v1/vehicles/{vehicle_id}/schedule" in doc["paths"]


async def test_webhook_over_real_http(served: httpx.AsyncClient, mem_api: Api) -> None:
    await mem_api.deps.users.upsert_user(UserRecord(user_id="user-1"))
    await mem_api.deps.vehicles.save_readings([reading("veh-1")])
    event = {
        "event": "user:vehicle:updated",
        "createdAt": "2026-11-29T11:59:00Z",
        "user": {"id": "user-1"},
        "vehicle": {"id": "veh-1", "chargeState": {"isCharging": True}},
    }
    body, sig = signed([event])
    r = await served.post(
        "/webhooks/enode",
        content=body,
        headers={"X-Enode-Signature": sig, "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    stored = await mem_api.deps.vehicles.latest_readings(["veh-1"])
    assert stored["veh-1"].is_charging is True
    assert mem_api.triggers.reconciles == ["veh-1"]
