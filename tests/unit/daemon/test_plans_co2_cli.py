"""`plans add --co2-weight` and the kg CO2 that `plans list` shows next to the cost."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enode_scheduler.config import load_settings
from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import ScheduleRecord
from enode_scheduler.store import open_store
from tests.unit.daemon.test_plans_cli import cli, config  # noqa: F401 - the fixture

NOW = datetime(2099, 1, 1, 18, 0, tzinfo=UTC)


async def _save_schedule(config_path: Path) -> None:
    settings = load_settings(config_path, environ={})
    async with open_store(settings.database, state_dir=settings.state_dir) as store:
        window = Window(NOW + timedelta(hours=2), NOW + timedelta(hours=4))
        schedule = Schedule(
            True, (window,), 14.8, 1.2, 1, 80.0, baseline_cost=2.0, co2_kg=1.5,
            baseline_co2_kg=4.0,
        )  # fmt: skip
        await store.schedules.save_schedules([ScheduleRecord("car-1", schedule, NOW, NOW)])


def test_co2_weight_is_kept_and_the_schedule_shows_kg_co2(
    config: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = cli(
        config, "plans", "add", "car-1", "--user", "u1", "--target", "80",
        "--by", "2099-01-02T07:30", "--co2-weight", "0.25",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = cli(config, "plans", "list", "--json")
    (plan,) = json.loads(out)
    assert plan["co2_weight"] == 0.25
    assert plan["schedule"] is None
    asyncio.run(_save_schedule(config))
    code, out, _ = cli(config, "plans", "list", "--json")
    (plan,) = json.loads(out)
    assert plan["schedule"]["expected_cost"] == 1.2
    assert plan["schedule"]["saving"] == 0.8
    assert plan["schedule"]["co2_kg"] == 1.5
    assert plan["schedule"]["co2_saving_kg"] == 2.5
    # Wide enough for every column: the cells are checked, not how a narrow terminal wraps them.
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli(config, "plans", "list")
    assert "1.50 (2.50)" in out


def test_negative_co2_weight_is_refused(config: Path) -> None:  # noqa: F811
    code, _, err = cli(
        config, "plans", "add", "car-1", "--user", "u1", "--target", "80",
        "--at", "07:00", "--co2-weight", "-1",
    )  # fmt: skip
    assert code == 2
    assert "--co2-weight" in err
