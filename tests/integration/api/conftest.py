"""The API app over each store backend, driven through httpx in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.daemon.api import create_api
from enode_scheduler.daemon.api_deps import ApiDeps
from enode_scheduler.overrides import InMemoryOverrideStore
from tests.integration.api.memory import (
    MemoryIntents,
    MemoryPlans,
    MemorySchedules,
    MemoryUsers,
    MemoryVehicles,
)
from tests.integration.api.support import (
    NOW,
    WEBHOOK_SECRET,
    MemoryLinkFlow,
    Triggers,
    api_settings,
)


@dataclass
class Api:
    client: httpx.AsyncClient
    deps: ApiDeps
    clock: FakeClock
    triggers: Triggers
    link: MemoryLinkFlow


def _memory_deps(clock: FakeClock, triggers: Triggers, link: MemoryLinkFlow) -> ApiDeps:
    return ApiDeps(
        users=MemoryUsers(),
        vehicles=MemoryVehicles(),
        plans=MemoryPlans(clock),
        schedules=MemorySchedules(),
        intents=MemoryIntents(),
        overrides=InMemoryOverrideStore(),
        clock=clock,
        link=link,
        request_replan=triggers.replan,
        request_reconcile=triggers.reconcile,
    )


@pytest.fixture(params=["memory"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    clock = FakeClock(NOW)
    triggers = Triggers()
    link = MemoryLinkFlow(clock)
    deps = _memory_deps(clock, triggers, link)
    app = create_api(deps, api_settings(), webhook_secret=WEBHOOK_SECRET)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield Api(client=client, deps=deps, clock=clock, triggers=triggers, link=link)
