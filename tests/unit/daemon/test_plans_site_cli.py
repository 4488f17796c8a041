"""`plans list` says when a car is planned with the other cars of a capped site."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from enode_scheduler.config import load_settings
from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import ScheduleRecord
from enode_scheduler.store import open_store
from tests.unit.daemon.test_plans_cli import cli, config  # noqa: F401 (the fixture)

LINE = "Site garage: shares 11 kW with 2 cars, planned together."


def store_schedule(config_path: Path, vehicle_id: str, explanation: tuple[str, ...]) -> None:
    async def go() -> None:
        settings = load_settings(config_path)
        async with open_store(settings.database, state_dir=settings.state_dir) as store:
            at = datetime(2099, 1, 1, 22, tzinfo=UTC)
            window = Window(at, datetime(2099, 1, 2, 1, tzinfo=UTC))
            schedule = Schedule(True, (window,), 33.0, 2.1, 1, 80.0, explanation=explanation)
            deadline = datetime(2099, 1, 2, 6, 30, tzinfo=UTC)
            await store.schedules.save_schedules(
                [ScheduleRecord(vehicle_id, schedule, deadline, computed_at=at)]
            )

    asyncio.run(go())


def test_plans_list_explains_a_cars_windows_in_site_terms(config: Path) -> None:  # noqa: F811
    for vid in ("car-1", "car-2"):
        code, out, _ = cli(config, "plans", "add", vid, "--user", "u1", "--target", "90",
                           "--by", "2099-01-02T07:30", "--tz", "Europe/Oslo")  # fmt: skip
        assert code == 0, out
    store_schedule(config, "car-1", ("Charging 33 kWh.", LINE))
    store_schedule(config, "car-2", ("Charging 33 kWh.",))
    code, out, _ = cli(config, "plans", "list", "--json")
    assert code == 0, out
    plans = {p["vehicle_id"]: p for p in json.loads(out)}
    assert plans["car-1"]["schedule"]["site"] == LINE
    assert plans["car-2"]["schedule"]["site"] is None
    code, out, _ = cli(config, "plans", "list")
    assert code == 0, out
    # The status cell of car-1 only (the table wraps it in a narrow terminal).
    assert "garage:" in out
    assert out.count("shares") == 1
