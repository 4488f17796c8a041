"""A webhook received by one replica wakes the replica that runs the car (another process)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.clock import FakeClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.daemon.wakeups import WakeRelay
from enode_scheduler.records import UserRecord
from enode_scheduler.store import open_store
from tests.conftest import REPO_ROOT
from tests.integration.api.conftest import _empty_postgres
from tests.integration.api.support import (
    NOW,
    WEBHOOK_SECRET,
    Triggers,
    api_settings,
    reading,
    signed,
)

pytestmark = pytest.mark.postgres
WAIT_S = 30.0  # a hang guard, nothing is timed


@pytest.fixture
async def other_replica(api_postgres_url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """Another process listening on the same database, as a second replica does."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.api.wake_listener_proc", api_postgres_url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.stdin is not None
    try:
        assert await _line(proc) == "listening"
        yield proc
    finally:
        proc.stdin.close()
        async with asyncio.timeout(WAIT_S):
            await proc.wait()


async def _line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    async with asyncio.timeout(WAIT_S):
        return (await proc.stdout.readline()).decode().strip()


def _event(vehicle: dict[str, Any]) -> dict[str, Any]:
    return {"event": "user:vehicle:updated", "createdAt": "2026-11-29T11:58:00Z",
            "user": {"id": "user-1"}, "vehicle": vehicle}  # fmt: skip


async def test_a_webhook_at_one_replica_wakes_another_process(
    api_postgres_url: str, other_replica: asyncio.subprocess.Process, tmp_path: Path
) -> None:
    await _empty_postgres(api_postgres_url)
    clock, triggers = FakeClock(NOW), Triggers()
    settings = DatabaseSettings(url=api_postgres_url)
    async with open_store(settings, state_dir=tmp_path, clock=clock) as store:
        await store.users.upsert_user(UserRecord(user_id="user-1", linked=True))
        await store.vehicles.save_readings([reading("veh-1"), reading("veh-2")])
        relay = WakeRelay(store.wakes, replan=triggers.replan, reconcile=triggers.reconcile)
        deps = ApiDeps(
            users=store.users, vehicles=store.vehicles, plans=store.plans,
            schedules=store.schedules, intents=store.intents, overrides=store.overrides,
            sites=store.sites, clock=clock,
            request_replan=relay.request_replan, request_reconcile=relay.request_reconcile,
        )  # fmt: skip
        app = create_api(deps, api_settings(), webhook_secret=WEBHOOK_SECRET)
        body, sig = signed([
            _event({"id": "veh-1", "chargeState": {"isPluggedIn": False}}),  # a replan
            _event({"id": "veh-2", "chargeState": {"batteryLevel": 55}}),
        ])  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with (
            relay.running(),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            async with asyncio.timeout(WAIT_S):
                await relay.wait_listening()
            headers = {"content-type": "application/json", "X-Enode-Signature": sig}
            response = await c.post("/webhooks/enode", content=body, headers=headers)
            assert response.status_code == 200, response.text
            received = [json.loads(await _line(other_replica)) for _ in range(2)]
    assert received == [
        {"vehicle_ids": ["veh-1"], "replan": True},
        {"vehicle_ids": ["veh-1", "veh-2"], "replan": False},
    ]
