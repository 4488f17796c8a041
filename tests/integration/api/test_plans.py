"""Vehicles, plans, overrides and schedules through the HTTP API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from enode_scheduler.planner.models import Schedule, Window, WindowReason
from enode_scheduler.records import (
    ChargeAction,
    CommandIntent,
    ScheduleRecord,
    UserRecord,
)
from tests.integration.api.conftest import Api
from tests.integration.api.support import NOW, READ, WRITE, reading

PROBLEM = "application/problem+json"
ONE_OFF = {"target_soc_percent": 80, "deadline": "2026-11-30T07:00:00+01:00"}
REPEAT = {
    "target_soc_percent": 70,
    "repeat": {"days": ["mon", "fri", "mon"], "at": "07:30"},
    "timezone": "Europe/Oslo",
    "min_soc_percent": 20,
    "start_penalty": 0.05,
}


async def _seed(api: Api) -> Api:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1", linked=True))
    await api.deps.vehicles.save_readings([reading("veh-1"), reading("veh-2", soc_percent=90.0)])
    return api


@pytest.fixture
async def seeded(api: Api) -> Api:
    """Every backend."""
    return await _seed(api)


@pytest.fixture
async def mem_seeded(mem_api: Api) -> Api:
    """In-memory only: for request validation, which storage does not affect."""
    return await _seed(mem_api)


async def test_vehicles_lists_latest_state_with_age(seeded: Api) -> None:
    r = await seeded.client.get("/v1/users/user-1/vehicles", headers=READ)
    assert r.status_code == 200
    body = r.json()
    assert [v["vehicle_id"] for v in body["vehicles"]] == ["veh-1", "veh-2"]
    assert body["vehicles"][0]["soc_percent"] == 40.0
    assert body["vehicles"][0]["reading_age_s"] == 600.0


async def test_vehicles_unknown_user_is_404_problem(seeded: Api) -> None:
    r = await seeded.client.get("/v1/users/nobody/vehicles", headers=READ)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["status"] == 404


@pytest.mark.parametrize(
    "path", ["/v1/users/bad%20id/vehicles", "/v1/vehicles/..%2Fetc/plan", "/v1/vehicles/-x/plan"]
)
async def test_bad_ids_are_422(mem_seeded: Api, path: str) -> None:
    r = await mem_seeded.client.get(path, headers=READ)
    assert r.status_code in (404, 422)
    assert r.headers["content-type"] == PROBLEM


async def test_put_one_off_plan_then_get_it(seeded: Api) -> None:
    r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=ONE_OFF, headers=WRITE)
    assert r.status_code == 200, r.text
    assert r.json()["deadline"].startswith("2026-11-30T06:00:00")
    assert r.json()["user_id"] == "user-1"
    got = await seeded.client.get("/v1/vehicles/veh-1/plan", headers=READ)
    assert got.json()["target_soc_percent"] == 80
    assert seeded.triggers.replans == ["veh-1"]


async def test_put_repeating_plan(seeded: Api) -> None:
    r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=REPEAT, headers=WRITE)
    assert r.status_code == 200, r.text
    plan = await seeded.deps.plans.get_plan("veh-1")
    assert plan is not None
    assert plan.weekdays == frozenset({0, 4})
    assert plan.local_time is not None
    assert plan.local_time.hour == 7
    assert r.json()["repeat"] == {"days": ["mon", "fri"], "at": "07:30"}


PLAN_ERRORS = [
    ({"target_soc_percent": 101}, "target_soc_percent"),
    ({"target_soc_percent": -1}, "target_soc_percent"),
    ({"deadline": "2026-11-29T11:00:00Z"}, "deadline"),
    ({"deadline": "2026-11-30T07:00:00"}, "deadline"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"colour": "red"}, "colour"),
    ({"repeat": {"days": ["mon"], "at": "07:00"}}, "exactly one"),
    ({"min_soc_percent": 90}, "min_soc_percent"),
    ({"deadline": None, "repeat": {"days": ["mon"], "at": "07:00+01:00"}}, "offset"),
    ({"deadline": None, "repeat": {"days": [], "at": "07:00"}}, "days"),
    ({"deadline": None, "repeat": {"days": ["someday"], "at": "07:00"}}, "days"),
]


@pytest.mark.parametrize(("change", "field"), PLAN_ERRORS)
async def test_put_plan_validation(mem_seeded: Api, change: dict[str, Any], field: str) -> None:
    r = await mem_seeded.client.put("/v1/vehicles/veh-1/plan", json=ONE_OFF | change, headers=WRITE)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert field in r.text
    assert await mem_seeded.deps.plans.get_plan("veh-1") is None


async def test_validation_errors_store_nothing(seeded: Api) -> None:
    for change, _ in PLAN_ERRORS:
        r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=ONE_OFF | change, headers=WRITE)
        assert r.status_code == 422
    for body in OVERRIDE_ERRORS:
        r = await seeded.client.post("/v1/vehicles/veh-1/override", json=body, headers=WRITE)
        assert r.status_code == 422
    assert await seeded.deps.plans.get_plan("veh-1") is None
    assert await seeded.deps.overrides.get_override("veh-1") is None


async def test_plan_unknown_vehicle_404(seeded: Api) -> None:
    r = await seeded.client.put("/v1/vehicles/veh-9/plan", json=ONE_OFF, headers=WRITE)
    assert r.status_code == 404
    assert (await seeded.client.get("/v1/vehicles/veh-9/plan", headers=READ)).status_code == 404
    assert (await seeded.client.delete("/v1/vehicles/veh-9/plan", headers=WRITE)).status_code == 404


async def test_delete_plan(seeded: Api) -> None:
    await seeded.client.put("/v1/vehicles/veh-1/plan", json=ONE_OFF, headers=WRITE)
    r = await seeded.client.delete("/v1/vehicles/veh-1/plan", headers=WRITE)
    assert r.status_code == 204
    assert await seeded.deps.plans.get_plan("veh-1") is None


async def test_override_charge_now_until_soc(seeded: Api) -> None:
    body = {"action": "charge_now", "until_soc_percent": 60}
    r = await seeded.client.post("/v1/vehicles/veh-1/override", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is True
    stored = await seeded.deps.overrides.get_override("veh-1")
    assert stored is not None
    assert stored.until_soc_percent == 60
    assert seeded.triggers.reconciles == ["veh-1"]


OVERRIDE_ERRORS = [
    {"action": "pause"},
    {"action": "pause", "until": "2026-11-29T13:00:00Z", "until_soc_percent": 50},
    {"action": "charge_now"},
    {"action": "pause", "until": "2026-11-29T11:00:00Z"},
    {"action": "pause", "until": "2027-11-29T11:00:00Z"},
    {"action": "boost", "until": "2026-11-29T13:00:00Z"},
]


@pytest.mark.parametrize("body", OVERRIDE_ERRORS)
async def test_override_validation(mem_seeded: Api, body: dict[str, Any]) -> None:
    r = await mem_seeded.client.post("/v1/vehicles/veh-1/override", json=body, headers=WRITE)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert await mem_seeded.deps.overrides.get_override("veh-1") is None


async def test_override_pause_then_delete(seeded: Api) -> None:
    body = {"action": "pause", "until": "2026-11-29T18:00:00Z"}
    assert (
        await seeded.client.post("/v1/vehicles/veh-1/override", json=body, headers=WRITE)
    ).status_code == 200
    r = await seeded.client.delete("/v1/vehicles/veh-1/override", headers=WRITE)
    assert r.status_code == 204
    r = await seeded.client.delete("/v1/vehicles/veh-1/override", headers=WRITE)
    assert r.status_code == 404


async def test_override_unknown_vehicle_404(seeded: Api) -> None:
    body = {"action": "pause", "until": "2026-11-29T18:00:00Z"}
    r = await seeded.client.post("/v1/vehicles/nope/override", json=body, headers=WRITE)
    assert r.status_code == 404


async def test_schedule_explained_with_last_day_of_commands(seeded: Api) -> None:
    start = NOW + timedelta(hours=2)
    schedule = Schedule(
        feasible=True,
        windows=(
            Window(start, start + timedelta(hours=1)),
            Window(NOW, NOW + timedelta(minutes=15), reason=WindowReason.MIN_SOC),
        ),
        grid_energy_kwh=20.0,
        cost=2.0,
        starts=2,
        soc_at_deadline_percent=80.0,
        baseline_cost=3.5,
        explanation=("night prices are lowest",),
    )
    record = ScheduleRecord("veh-1", schedule, deadline=NOW + timedelta(hours=18), computed_at=NOW)
    await seeded.deps.schedules.save_schedules([record])
    sent = [
        CommandIntent(
            key=key,
            vehicle_id="veh-1",
            user_id="user-1",
            action=ChargeAction.START,
            reason="window",
            epoch=0,
            created_at=NOW - timedelta(hours=age_h),
        )
        for key, age_h in (("old", 30), ("new", 2))
    ]
    # No shard is claimed here, so epoch 0 is the current one.
    await seeded.deps.intents.record_sends(sent, at=NOW - timedelta(hours=30))
    await seeded.deps.intents.record_outcomes(["old", "new"], {}, at=NOW)
    r = await seeded.client.get("/v1/vehicles/veh-1/schedule", headers=READ)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["schedule"]["saving"] == pytest.approx(1.5)
    assert body["schedule"]["cost_if_charged_now"] == 3.5
    assert body["schedule"]["expected_soc_at_deadline_percent"] == 80.0
    assert [w["reason"] for w in body["schedule"]["windows"]] == ["cheapest_slot", "min_soc_floor"]
    assert all(w["explanation"] for w in body["schedule"]["windows"])
    assert [c["key"] for c in body["commands"]] == ["new"]


async def test_schedule_before_planning_is_null(seeded: Api) -> None:
    r = await seeded.client.get("/v1/vehicles/veh-2/schedule", headers=READ)
    assert r.status_code == 200
    assert r.json()["schedule"] is None
    r = await seeded.client.get("/v1/vehicles/veh-404/schedule", headers=READ)
    assert r.status_code == 404
