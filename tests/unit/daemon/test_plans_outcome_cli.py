"""`plans list|show` show every plan's outcome; `plans add` follows `[clock]` and the local zone."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.clock import FakeClock
from enode_scheduler.config import load_settings
from enode_scheduler.planner.models import Schedule, Window
from enode_scheduler.records import (
    ChargingLocation,
    OutcomeKind,
    PlanOutcome,
    ScheduleRecord,
    VehicleReading,
)
from enode_scheduler.store import open_store

SIM_NOW = datetime(2026, 1, 5, 17, tzinfo=UTC)
CAR = "car-1-0123456789abcdef"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n\n[database]\nauto_migrate = true\n\n'
        # A clock that stands (almost) still at the sim's date, as `sim --write-config` writes it.
        f'[clock]\nspeed = 1e-9\nstart = "{SIM_NOW.isoformat()}"\n\n'
        '[scheduler]\ntimezone = "Europe/Oslo"\n\n[prices]\ncurrency = "NOK"\n'
    )
    seed_cars(path, [CAR])
    return path


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *args])
    # The command pointed logging at the runner's stream, which is closed now.
    structlog.reset_defaults()
    logging.getLogger().handlers = []
    return result.exit_code, result.stdout, result.stderr


def seed_cars(config: Path, vehicle_ids: list[str]) -> None:
    """alice's cars as the daemon would have stored them, at her one location (Home)."""
    settings = load_settings(config)

    async def go() -> None:
        async with open_store(
            settings.database, state_dir=settings.state_dir, clock=FakeClock(SIM_NOW)
        ) as store:
            await store.vehicles.save_readings(
                [
                    VehicleReading(
                        v, "alice", "TESLA", SIM_NOW, True, 71.0, True, False, None, 60.0, 100.0
                    )
                    for v in vehicle_ids
                ]
            )
            home = ChargingLocation("loc-home", "alice", name="Home")
            await store.locations.replace_locations("alice", [home])

    asyncio.run(go())


def seed(config: Path, *, outcome: PlanOutcome, record: ScheduleRecord | None) -> None:
    settings = load_settings(config)

    async def go() -> None:
        async with open_store(
            settings.database, state_dir=settings.state_dir, clock=FakeClock(SIM_NOW)
        ) as store:
            await store.outcomes.record_outcome(outcome)
            if record is not None:
                await store.schedules.save_schedules([record])

    asyncio.run(go())


def test_plans_add_takes_a_deadline_on_the_clock_s_date_in_the_local_zone(config: Path) -> None:
    # On the wall clock (2026-12 on this machine, or later) this date is long past.
    code, out, err = cli(
        config, "plans", "add", CAR, "--user", "alice", "--target", "80",
        "--by", "2026-01-06T07:00",
    )  # fmt: skip
    assert code == 0, err
    assert "by 2026-01-06 07:00 Europe/Oslo" in out
    code, out, _ = cli(config, "plans", "list", "--json")
    assert json.loads(out)[0]["deadline"] == "2026-01-06T06:00:00+00:00"
    code, _, err = cli(
        config, "plans", "add", CAR, "--user", "alice", "--target", "80",
        "--by", "2026-01-05T17:59",
    )  # fmt: skip
    assert code == 2
    assert "in the past" in err


def test_plans_list_and_show_carry_a_missed_outcome(config: Path) -> None:
    vid = CAR
    assert cli(config, "plans", "add", vid, "--user", "alice", "--target", "80",
               "--by", "2026-01-06T07:00")[0] == 0  # fmt: skip
    deadline = datetime(2026, 1, 6, 6, tzinfo=UTC)
    window = Window(SIM_NOW + timedelta(hours=8), SIM_NOW + timedelta(hours=10))
    schedule = Schedule(True, (window,), 20.0, 1.5, 1, 80.0, baseline_cost=3.0,
                        explanation=("cheapest_slot ...",))  # fmt: skip
    seed(
        config,
        outcome=PlanOutcome(vid, deadline - timedelta(days=1), OutcomeKind.MISSED, 80.0, 71.0),
        record=ScheduleRecord(vid, schedule, deadline, computed_at=SIM_NOW),
    )
    code, out, err = cli(config, "plans", "list", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["outcome"]["kind"] == "missed"
    assert row["outcome"]["detail"] == "missed by 9 %"
    assert row["expected_soc_at_deadline"] == 80.0
    assert row["next_window"]["start"] == window.start.isoformat()

    code, out, _ = cli(config, "plans", "list")
    assert vid in out  # the full id, never cut
    assert "missed by 9 %" in out
    assert "Tue 02:00-04:00" in out  # the next window, in the plan's zone

    code, out, err = cli(config, "plans", "show", "car-1", "--json")  # a unique prefix
    assert code == 0, err
    body = json.loads(out)
    assert body["vehicle_id"] == vid
    assert body["last_outcome"]["outcome"] == "missed"
    assert body["schedule"]["saving"] == pytest.approx(1.5)
    assert body["currency"] == "NOK"
    # Explanations in the plan's zone, money in the configured currency.
    explanation = body["schedule"]["explanation"]
    assert explanation[0].startswith("cheapest_slot Tue 2026-01-06 02:00 to 04:00 CET: ")
    assert "saving 1.50 NOK" in explanation[-1]
    code, out, _ = cli(config, "plans", "show", vid)
    assert "saving 1.50 NOK" in out
    assert "deadline Tue 2026-01-06 07:00 CET" in out
    assert cli(config, "plans", "show", "nope")[0] == 2


def test_a_unique_prefix_names_a_plan_and_an_ambiguous_one_is_refused(config: Path) -> None:
    seed_cars(config, ["abc-111", "abc-222", "xyz-333"])
    for vid in ("abc-111", "abc-222", "xyz-333"):
        assert cli(config, "plans", "add", vid, "--user", "alice", "--target", "80",
                   "--at", "07:00")[0] == 0  # fmt: skip
    code, _, err = cli(config, "plans", "show", "abc")
    assert code == 2
    assert "ambiguous" in err
    code, out, _ = cli(config, "plans", "remove", "xyz")
    assert (code, out.strip()) == (0, "plan removed for xyz-333")
    code, out, _ = cli(config, "plans", "list", "--json")
    assert [p["vehicle_id"] for p in json.loads(out)] == ["abc-111", "abc-222"]
