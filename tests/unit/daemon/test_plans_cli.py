"""`enode-scheduler plans add|list|remove` against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n\n[database]\nauto_migrate = true\n')
    return path


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_add_list_and_remove_plans(config: Path) -> None:
    code, out, _ = cli(
        config, "plans", "add", "car-1", "--user", "u1", "--target", "80", "--at", "07:00",
        "--days", "mon,tue,wed,thu,fri", "--tz", "Europe/Oslo", "--min-soc", "20",
    )  # fmt: skip
    assert code == 0, out
    assert "80% at 07:00 Europe/Oslo on mon,tue,wed,thu,fri" in out
    code, out, _ = cli(config, "plans", "add", "car-2", "--user", "u1", "--target", "90",
                       "--by", "2099-01-02T07:30", "--tz", "Europe/Oslo")  # fmt: skip
    assert code == 0, out
    code, out, _ = cli(config, "plans", "list", "--json")
    plans = {p["vehicle_id"]: p for p in json.loads(out)}
    assert plans["car-1"]["weekdays"] == ["mon", "tue", "wed", "thu", "fri"]
    assert plans["car-1"]["min_soc_percent"] == 20
    assert plans["car-2"]["deadline"] == "2099-01-02T06:30:00+00:00"
    assert plans["car-2"]["status"] == "active"
    assert cli(config, "plans", "remove", "car-1")[0] == 0
    code, out, _ = cli(config, "plans", "list", "--json")
    assert [p["vehicle_id"] for p in json.loads(out)] == ["car-2"]
    assert cli(config, "plans", "remove", "car-1")[0] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--at", "07:00", "--by", "2099-01-01T00:00"], "exactly one of", id="both"),
        pytest.param([], "exactly one of", id="neither"),
        pytest.param(["--by", "2001-01-01T00:00"], "in the past", id="past"),
        pytest.param(["--by", "tomorrow"], "not an ISO-8601", id="bad-date"),
        pytest.param(["--at", "7h"], "not a time of day", id="bad-time"),
        pytest.param(["--at", "07:00", "--days", "mon,xyz"], "unknown day 'xyz'", id="bad-day"),
        pytest.param(["--at", "07:00", "--tz", "Mars/Base"], "unknown time zone", id="bad-tz"),
        pytest.param(["--at", "07:00", "--min-soc", "90"], "above --target", id="min-soc"),
    ],
)
def test_bad_plan_input_exits_2_with_one_line(config: Path, args: list[str], message: str) -> None:
    code, _, err = cli(config, "plans", "add", "car-1", "--user", "u1", "--target", "80", *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_charger_plans_via_a_wallbox_and_charger_only(config: Path) -> None:
    code, out, _ = cli(
        config, "plans", "add", "car-1", "--user", "u1", "--target", "80",
        "--by", "2099-01-02T07:30", "--via-charger", "box-1", "--min-soc", "30",
    )  # fmt: skip
    assert code == 0, out
    assert "80% by 2099-01-02 07:30 UTC via charger box-1" in out
    code, out, _ = cli(
        config, "plans", "add", "box-2", "--user", "u1", "--energy-kwh", "20", "--at", "07:00",
        "--days", "mon,fri",
    )  # fmt: skip
    assert code == 0, out
    assert "20 kWh through the charger at 07:00 UTC on mon,fri" in out
    plans = {p["vehicle_id"]: p for p in json.loads(cli(config, "plans", "list", "--json")[1])}
    assert (plans["car-1"]["target"], plans["car-1"]["charger_id"]) == ("charger", "box-1")
    assert plans["car-1"]["energy_kwh"] is None
    assert plans["car-1"]["min_soc_percent"] == 30
    assert (plans["box-2"]["charger_id"], plans["box-2"]["energy_kwh"]) == ("box-2", 20)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--target", "80", "--energy-kwh", "20"], "not with --target", id="both"),
        pytest.param(["--energy-kwh", "20", "--via-charger", "b"], "charger-only", id="via"),
        pytest.param(["--energy-kwh", "20", "--min-soc", "10"], "needs a car's SoC", id="min"),
        pytest.param([], "give --target", id="no-goal"),
    ],
)
def test_bad_charger_plans_exit_2_with_one_line(
    config: Path, args: list[str], message: str
) -> None:
    code, _, err = cli(config, "plans", "add", "box-1", "--user", "u1", "--at", "07:00", *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
