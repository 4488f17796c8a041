"""A plan's GET body goes back as PUT unchanged; a local deadline is read in `timezone`."""

from __future__ import annotations

import pytest

from enode_scheduler.records import UserRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import READ, WRITE, reading


@pytest.fixture
async def seeded(mem_api: Api) -> Api:
    await mem_api.deps.users.upsert_user(UserRecord(user_id="user-1", linked=True))
    await mem_api.deps.vehicles.save_readings([reading("veh-1"), reading("veh-2")])
    return mem_api


@pytest.mark.parametrize(
    "plan",
    [
        {"target_soc_percent": 80, "deadline": "2026-11-30T07:00:00+01:00"},
        {
            "target_soc_percent": 70,
            "repeat": {"days": ["mon"], "at": "07:30"},
            "timezone": "Europe/Oslo",
        },
    ],
)
async def test_the_get_body_round_trips_as_put(seeded: Api, plan: dict[str, object]) -> None:
    client = seeded.client
    first = await client.put("/v1/vehicles/veh-1/plan", json=plan, headers=WRITE)
    assert first.status_code == 200, first.text
    got = (await client.get("/v1/vehicles/veh-1/plan", headers=READ)).json()
    again = await client.put("/v1/vehicles/veh-1/plan", json=got, headers=WRITE)
    assert again.status_code == 200, again.text
    body = again.json()
    for key in ("target_soc_percent", "deadline", "repeat", "timezone", "plan_id"):
        assert body[key] == got[key]


async def test_read_only_fields_that_do_not_match_are_refused(seeded: Api) -> None:
    client = seeded.client
    plan = {"target_soc_percent": 80, "deadline": "2026-11-30T07:00:00+01:00"}
    await client.put("/v1/vehicles/veh-1/plan", json=plan, headers=WRITE)
    got = (await client.get("/v1/vehicles/veh-1/plan", headers=READ)).json()
    moved = await client.put("/v1/vehicles/veh-2/plan", json=got, headers=WRITE)
    assert moved.status_code == 422
    assert "vehicle_id" in moved.json()["detail"]


async def test_a_local_deadline_is_read_in_the_plan_s_timezone(seeded: Api) -> None:
    plan = {"target_soc_percent": 80, "deadline": "2026-11-30T07:00", "timezone": "Europe/Oslo"}
    r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=plan, headers=WRITE)
    assert r.status_code == 200, r.text
    assert r.json()["deadline"] == "2026-11-30T06:00:00Z"
