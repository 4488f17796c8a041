"""The schedule API explains a car planned with the other cars of a capped site in site terms."""

from __future__ import annotations

from datetime import timedelta

from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import ScheduleRecord
from tests.integration.api.support import NOW, READ
from tests.integration.api.test_plans import Api, seeded  # noqa: F401 (the fixture)

LINE = "Site garage: shares 11 kW with 2 cars, planned together."


async def test_schedule_names_the_site_its_cap_and_the_cars_sharing_it(seeded: Api) -> None:  # noqa: F811
    start = NOW + timedelta(hours=2)
    schedule = Schedule(
        True, (Window(start, start + timedelta(hours=1)),), 11.0, 1.0, 1, 80.0,
        baseline_cost=1.5, explanation=(LINE,),
    )  # fmt: skip
    record = ScheduleRecord("veh-1", schedule, deadline=NOW + timedelta(hours=18), computed_at=NOW)
    await seeded.deps.schedules.save_schedules([record])
    r = await seeded.client.get("/v1/vehicles/veh-1/schedule", headers=READ)
    assert r.status_code == 200, r.text
    body = r.json()["schedule"]
    assert body["site"] == LINE
    assert LINE in body["explanation"]
    alone = Schedule(True, (), 0.0, 0.0, 0, 80.0, explanation=("night prices are lowest",))
    record = ScheduleRecord("veh-1", alone, deadline=NOW + timedelta(hours=18), computed_at=NOW)
    await seeded.deps.schedules.save_schedules([record])
    r = await seeded.client.get("/v1/vehicles/veh-1/schedule", headers=READ)
    assert r.json()["schedule"]["site"] is None
