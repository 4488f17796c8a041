"""Charger plans on the operator's web page, over each store backend: a charger-only plan gets a
fleet row and a page from its charger's reading; a car's plan through a charger names it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from enode_scheduler.api.web.fleet import FleetRow, FleetView, Location, Problem
from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import (
    ChargerReading,
    EnergyBaseline,
    PlanRecord,
    ScheduleRecord,
    UserRecord,
)
from tests.integration.api.conftest import Api
from tests.integration.api.support import NOW, READ, reading

DEADLINE = NOW + timedelta(hours=18)
# The meter stood at 0.5 kWh when the cycle began: 4.0 of the 10 kWh goal are delivered.
BOX = ChargerReading(
    "box-1", "user-1", "EASEE", datetime(2026, 11, 29, 11, 55, tzinfo=UTC), True, True, True,
    11.0, brand="Easee", model="Home", energy_kwh=4.5,
)  # fmt: skip
WINDOW = Window(NOW + timedelta(hours=12), NOW + timedelta(hours=14))


def _energy_plan(charger_id: str, user_id: str, energy_kwh: float) -> PlanRecord:
    return PlanRecord(
        charger_id, user_id, 100.0, deadline=DEADLINE, charger_id=charger_id,
        energy_kwh=energy_kwh, location_id=f"home-{user_id}",
    )  # fmt: skip


@pytest.fixture
async def seeded(api: Api) -> Api:
    d = api.deps
    assert d.chargers is not None
    for user in ("user-1", "user-2"):
        await d.users.upsert_user(UserRecord(user_id=user, linked=True))
    await d.vehicles.save_readings([reading("veh-1", charging_location_id="home-user-1")])
    await d.chargers.save_charger_readings([BOX])
    await d.chargers.set_energy_baseline(EnergyBaseline("box-1", DEADLINE, start_kwh=0.5))
    await d.plans.put_plan(
        PlanRecord("veh-1", "user-1", 80.0, deadline=DEADLINE, charger_id="box-1",
                   location_id="home-user-1")
    )  # fmt: skip
    await d.plans.put_plan(_energy_plan("box-1", "user-1", 10.0))
    # Its charger was never read (the daemon has not got to it yet).
    await d.plans.put_plan(_energy_plan("box-2", "user-2", 5.0))
    # The plan expects 8 of its 10 kWh by the deadline: at risk, as a car short of its target.
    schedule = Schedule(
        feasible=False, windows=(WINDOW,), grid_energy_kwh=4.0, cost=1.0, starts=1,
        soc_at_deadline_percent=80.0, baseline_cost=2.0,
    )  # fmt: skip
    await d.schedules.save_schedules([ScheduleRecord("box-1", schedule, DEADLINE, NOW)])
    return api


async def _rows(api: Api) -> dict[str, FleetRow]:
    return {r.vehicle_id: r for r in await FleetView(api.deps).rows()}


async def test_a_charger_only_plan_is_a_row_from_its_chargers_reading(seeded: Api) -> None:
    rows = await _rows(seeded)
    assert set(rows) == {"veh-1", "box-1", "box-2"}
    box = rows["box-1"]
    assert box.energy_only
    assert (box.user_id, box.vendor) == ("user-1", "EASEE")
    assert (box.plugged_in, box.charging) == (True, True)
    assert (box.delivered_kwh, box.energy_goal_kwh, box.soc_percent) == (4.0, 10.0, 40.0)
    assert box.expected_kwh == pytest.approx(8.0)
    assert box.next_window == WINDOW
    assert box.location is Location.AT_PLAN_LOCATION
    assert box.problems == (Problem.AT_RISK,)
    assert box.outcome == "active"
    assert box.charger_id == "box-1"


async def test_a_charger_never_read_still_has_a_row_stale_and_unknown(seeded: Api) -> None:
    never = (await _rows(seeded))["box-2"]
    assert never.energy_only
    assert (never.vendor, never.plugged_in, never.soc_percent, never.last_seen) == (
        None, None, None, None,
    )  # fmt: skip
    assert (never.delivered_kwh, never.energy_goal_kwh) == (None, 5.0)
    assert never.problems == (Problem.STALE,)
    assert never.location is Location.UNKNOWN


async def test_a_car_plan_through_a_charger_names_the_charger(seeded: Api) -> None:
    car = (await _rows(seeded))["veh-1"]
    assert (car.charger_id, car.energy_only, car.soc_percent) == ("box-1", False, 40.0)


async def test_search_finds_charger_plans_by_charger_and_user(seeded: Api) -> None:
    view = FleetView(seeded.deps)
    assert [r.vehicle_id for r in (await view.page(query="BOX-2")).rows] == ["box-2"]
    assert [r.vehicle_id for r in (await view.page(query="user-2")).rows] == ["box-2"]
    # The car acting through box-1 is found by its charger too.
    found = {r.vehicle_id for r in (await view.page(query="box-1")).rows}
    assert found == {"box-1", "veh-1"}


def _row_html(html: str, vid: str) -> str:
    row = re.search(rf'<tr data-vehicle="{vid}"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None, vid
    return row.group(1)


async def test_fleet_table_labels_energy_and_the_charger(seeded: Api) -> None:
    page = await seeded.client.get("/", headers=READ)
    assert page.status_code == 200
    box = _row_html(page.text, "box-1")
    assert 'data-kind="charger"' in box
    assert "energy 4.0 / 10.0 kWh" in box
    assert "10.0 kWh by" in box
    assert "<td>8.0 kWh</td>" in box
    assert " %" not in box  # no share passed off as a battery level
    assert "energy – / 5.0 kWh" in _row_html(page.text, "box-2")
    assert '<span data-via="box-1">via charger box-1</span>' in _row_html(page.text, "veh-1")


async def test_a_charger_only_plans_page_shows_goal_delivered_and_windows(seeded: Api) -> None:
    page = await seeded.client.get("/cars/box-1", headers=READ)
    assert page.status_code == 200
    assert "charger-only plan" in page.text
    assert 'data-charger="box-1"' in page.text
    assert "(Easee Home)" in page.text
    assert 'data-energy-delivered="4.0"' in page.text
    assert "4.0 kWh of 10.0 kWh delivered (40 % of the goal)" in page.text
    assert re.search(r"<dt>Expected at deadline</dt><dd>8\.0 kWh</dd>", page.text)
    assert re.search(r'<tr data-window="[^"]+"><td>', page.text)
    chart = re.search(r'<svg class="chart".*?</svg>', page.text, re.S)
    assert chart is not None
    assert chart.group(0).count('class="c-window"') == 1
    # No SoC: neither an expected curve nor readings nor a target line.
    for line in ("c-expected", "c-actual", "c-target"):
        assert line not in chart.group(0)
    assert "expected SoC" not in page.text


async def test_pages_of_an_unread_charger_and_a_car_through_a_charger(seeded: Api) -> None:
    never = await seeded.client.get("/cars/box-2", headers=READ)
    assert never.status_code == 200
    assert "box-2 (never read)" in never.text
    assert "not counted yet, goal 5.0 kWh" in never.text
    car = await seeded.client.get("/cars/veh-1", headers=READ)
    assert "<dt>Acts through</dt>" in car.text
    assert "charger box-1: plugged yes, charging yes" in car.text
    assert "expected SoC" in car.text
    assert (await seeded.client.get("/cars/box-9", headers=READ)).status_code == 404
