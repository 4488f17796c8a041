"""CO2 through the HTTP API: a plan's own price per kg, and kg CO2 next to cost in the schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import ScheduleRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import NOW, READ, WRITE
from tests.integration.api.test_plans import ONE_OFF, mem_seeded, seeded  # noqa: F401


async def test_plan_co2_price_round_trips_and_defaults_to_null(seeded: Api) -> None:  # noqa: F811
    body = {**ONE_OFF, "co2_price_per_kg": 0.3}
    r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    assert r.json()["co2_price_per_kg"] == 0.3
    stored = await seeded.deps.plans.get_plan("veh-1")
    assert stored is not None
    assert stored.co2_price_per_kg == 0.3
    r = await seeded.client.put("/v1/vehicles/veh-2/plan", json=ONE_OFF, headers=WRITE)
    assert r.json()["co2_price_per_kg"] is None


async def test_negative_co2_price_is_a_problem(mem_seeded: Api) -> None:  # noqa: F811
    body = {**ONE_OFF, "co2_price_per_kg": -1}
    r = await mem_seeded.client.put("/v1/vehicles/veh-1/plan", json=body, headers=WRITE)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "co2_price_per_kg" in r.text


async def test_schedule_reports_kg_co2_and_its_saving(seeded: Api) -> None:  # noqa: F811
    window = Window(NOW + timedelta(hours=2), NOW + timedelta(hours=3), provisional=True)
    schedule = Schedule(
        True, (window,), 7.4, 0.9, 1, 80.0, baseline_cost=1.4, co2_kg=0.37,
        baseline_co2_kg=2.96,
    )  # fmt: skip
    record = ScheduleRecord("veh-1", schedule, deadline=NOW + timedelta(hours=18), computed_at=NOW)
    await seeded.deps.schedules.save_schedules([record])
    r = await seeded.client.get("/v1/vehicles/veh-1/schedule", headers=READ)
    assert r.status_code == 200, r.text
    got = r.json()["schedule"]
    assert got["expected_cost"] == 0.9
    assert got["saving"] == pytest.approx(0.5)
    assert got["co2_kg"] == 0.37
    assert got["co2_kg_if_charged_now"] == 2.96
    assert got["co2_saving_kg"] == pytest.approx(2.59)
    assert "CO2 intensity" in got["windows"][0]["explanation"]
