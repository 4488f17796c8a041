"""Property-based run of schemathesis against the API's own /openapi.json, in-process.

Every generated request, valid or not, must get a documented status, content type and body,
and never a 5xx. Examples per operation are bounded so the run stays well under a minute.
"""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.clock import FakeClock
from enode_scheduler.records import SiteLocation, UserRecord
from enode_scheduler.testing import InMemoryEnodeLocations, InMemoryStore
from tests.integration.api.support import (
    NOW,
    WEBHOOK_SECRET,
    WRITE,
    MemoryLinkFlow,
    api_settings,
    reading,
)

MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _app() -> Any:
    clock = FakeClock(NOW)
    store = InMemoryStore.create(clock=clock)

    async def seed() -> None:
        await store.users.upsert_user(UserRecord(user_id="user-1"))
        await store.vehicles.save_readings([reading("veh-1"), reading("veh-2")])
        await store.sites.put_site("garage", max_kw=22.0)
        await store.sites.attach_location("garage", SiteLocation("user-1", "bay-3"))

    asyncio.run(seed())
    deps = ApiDeps(
        users=store.users,
        vehicles=store.vehicles,
        plans=store.plans,
        schedules=store.schedules,
        intents=store.intents,
        overrides=store.overrides,
        sites=store.sites,
        clock=clock,
        link=MemoryLinkFlow(clock, store.tokens),
        locations=store.locations,
        enode_locations=InMemoryEnodeLocations(),
    )
    return create_api(deps, api_settings(), webhook_secret=WEBHOOK_SECRET)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi(case: Any) -> None:
    case.call_and_validate(headers=WRITE, checks=CHECKS)
