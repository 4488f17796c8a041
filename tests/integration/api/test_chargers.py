"""Chargers and charger plans through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import (
    ChargerReading,
    ChargingLocation,
    EnergyBaseline,
    PlanRecord,
    ScheduleRecord,
    UserRecord,
)
from tests.integration.api.conftest import Api
from tests.integration.api.support import NOW, READ, WRITE, reading

BOX = ChargerReading(
    "box-1", "user-1", "EASEE", datetime(2026, 11, 29, 11, 55, tzinfo=UTC), True, True, True,
    11.0, brand="Easee", model="Home", energy_kwh=4.5,
)  # fmt: skip


@pytest.fixture
async def seeded(api: Api) -> Api:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1", linked=True))
    await api.deps.vehicles.save_readings([reading("veh-1")])
    assert api.deps.chargers is not None
    await api.deps.chargers.save_charger_readings([BOX])
    return api


async def test_chargers_are_listed_next_to_vehicles(seeded: Api) -> None:
    r = await seeded.client.get("/v1/users/user-1/chargers", headers=READ)
    assert r.status_code == 200, r.text
    (box,) = r.json()["chargers"]
    assert (box["charger_id"], box["vendor"], box["brand"]) == ("box-1", "EASEE", "Easee")
    assert (box["is_charging"], box["charge_rate_kw"], box["energy_kwh"]) == (True, 11.0, 4.5)
    assert box["reading_age_s"] == 300.0
    one = await seeded.client.get("/v1/chargers/box-1", headers=READ)
    assert one.json() == box
    assert (await seeded.client.get("/v1/chargers/nope", headers=READ)).status_code == 404
    assert (await seeded.client.get("/v1/users/nobody/chargers", headers=READ)).status_code == 404


async def test_a_vehicle_plan_through_a_charger(seeded: Api) -> None:
    body = {"target_soc_percent": 80, "deadline": "2026-11-30T07:00:00+01:00",
            "min_soc_percent": 30, "charger_id": "box-1"}  # fmt: skip
    r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["target"], plan["charger_id"], plan["energy_kwh"]) == ("charger", "box-1", None)
    assert seeded.triggers.replans == ["veh-1"]
    stored = await seeded.deps.plans.get_plan("veh-1")
    assert stored is not None
    assert stored.charger_id == "box-1"


async def test_charger_only_plan_put_get_schedule_delete(seeded: Api) -> None:
    body = {"energy_kwh": 20, "repeat": {"days": ["mon"], "at": "07:00"},
            "timezone": "Europe/Oslo"}  # fmt: skip
    r = await seeded.client.put("/v1/chargers/box-1/plan", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["vehicle_id"], plan["charger_id"], plan["energy_kwh"]) == ("box-1", "box-1", 20)
    assert (plan["target"], plan["target_soc_percent"], plan["user_id"]) == (
        "charger",
        100,
        "user-1",
    )
    assert (await seeded.client.get("/v1/chargers/box-1/plan", headers=READ)).json() == plan
    schedule = Schedule(
        feasible=True, windows=(Window(NOW, NOW + timedelta(hours=2)),), grid_energy_kwh=20.0,
        cost=2.0, starts=1, soc_at_deadline_percent=100.0, baseline_cost=3.0,
    )  # fmt: skip
    await seeded.deps.schedules.save_schedules(
        [ScheduleRecord("box-1", schedule, deadline=NOW + timedelta(hours=9), computed_at=NOW)]
    )
    assert seeded.deps.chargers is not None
    cycle = NOW + timedelta(hours=9)
    await seeded.deps.chargers.set_energy_baseline(EnergyBaseline("box-1", cycle, 1.5))
    explained = (await seeded.client.get("/v1/chargers/box-1/schedule", headers=READ)).json()
    assert explained["schedule"]["energy_kwh"] == 20.0
    assert explained["schedule"]["windows"][0]["explanation"]
    # The meter says 4.5 kWh, 1.5 of them before this cycle began.
    assert (explained["energy_goal_kwh"], explained["energy_delivered_kwh"]) == (20, 3.0)
    assert explained["cycle_deadline"] == cycle.isoformat().replace("+00:00", "Z")
    deleted = await seeded.client.delete("/v1/chargers/box-1/plan", headers=WRITE)
    assert deleted.status_code == 204
    assert (await seeded.client.get("/v1/chargers/box-1/plan", headers=READ)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"energy_kwh": 0, "deadline": "2026-11-30T07:00:00Z"},
        {"energy_kwh": 20},
        {"energy_kwh": 20, "deadline": "2026-11-30T07:00:00Z", "target_soc_percent": 80},
        {"energy_kwh": 20, "deadline": "2020-11-30T07:00:00Z"},
    ],
)
async def test_bad_charger_plans_are_422(seeded: Api, body: dict[str, object]) -> None:
    r = await seeded.client.put("/v1/chargers/box-1/plan", json=body, headers=WRITE)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_plan_for_an_unknown_charger_is_404(seeded: Api) -> None:
    body = {"energy_kwh": 20, "deadline": "2026-11-30T07:00:00Z"}
    r = await seeded.client.put("/v1/chargers/box-9/plan", json=body, headers=WRITE)
    assert r.status_code == 404


async def test_a_charger_only_plan_takes_overrides_until_a_time(seeded: Api) -> None:
    body = {"action": "charge_now", "until": "2026-11-29T18:00:00Z"}
    r = await seeded.client.post("/v1/chargers/box-1/override", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    assert (r.json()["vehicle_id"], r.json()["active"]) == ("box-1", True)
    assert seeded.triggers.reconciles == ["box-1"]
    stored = await seeded.deps.overrides.get_override("box-1")
    assert stored is not None
    no_soc = {"action": "charge_now", "until_soc_percent": 80}
    r = await seeded.client.post("/v1/chargers/box-1/override", json=no_soc, headers=WRITE)
    assert r.status_code == 422
    assert "no SoC" in r.json()["detail"]
    assert (
        await seeded.client.delete("/v1/chargers/box-1/override", headers=WRITE)
    ).status_code == 204
    assert (
        await seeded.client.delete("/v1/chargers/box-1/override", headers=WRITE)
    ).status_code == 404
    # Deleting the user removes the charger's override too (no foreign key does it).
    await seeded.deps.overrides.put_override(stored)
    await seeded.deps.plans.put_plan(
        PlanRecord("box-1", "user-1", 100.0, deadline=NOW + timedelta(hours=9),
                   charger_id="box-1", energy_kwh=20.0)
    )  # fmt: skip
    assert await seeded.deps.users.delete_user("user-1") is True
    assert await seeded.deps.overrides.get_override("box-1") is None


async def test_a_charger_plan_takes_the_users_location_or_the_one_named(seeded: Api) -> None:
    assert seeded.deps.locations is not None
    home = ChargingLocation("loc-home", "user-1", name="Home")
    await seeded.deps.locations.replace_locations("user-1", [home])
    body = {"energy_kwh": 20, "deadline": "2026-11-30T07:00:00+01:00"}
    r = await seeded.client.put("/v1/chargers/box-1/plan", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    assert r.json()["location_id"] == "loc-home"
    work = ChargingLocation("loc-work", "user-1", name="Work")
    await seeded.deps.locations.replace_locations("user-1", [home, work])
    r = await seeded.client.put(
        "/v1/chargers/box-1/plan", json={**body, "location": "work"}, headers=WRITE
    )
    assert r.status_code == 200, r.text
    assert r.json()["location_id"] == "loc-work"
    assert r.json()["co2_price_per_kg"] is None
    r = await seeded.client.put(
        "/v1/chargers/box-1/plan",
        json={**body, "location": "Home", "co2_price_per_kg": 0.3},
        headers=WRITE,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["co2_price_per_kg"], r.json()["location_id"]) == (0.3, "loc-home")
    r = await seeded.client.put(
        "/v1/chargers/box-1/plan", json={**body, "location": "cabin"}, headers=WRITE
    )
    assert r.status_code == 422
    assert "no charging location 'cabin'" in r.json()["detail"]


async def test_a_vehicle_plan_through_another_users_charger_is_refused(seeded: Api) -> None:
    assert seeded.deps.chargers is not None
    theirs = ChargerReading("box-2", "user-2", "EASEE", None, True, True, False, None)
    await seeded.deps.chargers.save_charger_readings([theirs])
    for charger in ("box-2", "box-9"):
        body = {"target_soc_percent": 80, "deadline": "2026-11-30T07:00:00+01:00",
                "charger_id": charger}  # fmt: skip
        r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=body, headers=WRITE)
        assert r.status_code == 422, r.text
        assert f"has no charger '{charger}'" in r.json()["detail"]
    assert await seeded.deps.plans.get_plan("veh-1") is None
