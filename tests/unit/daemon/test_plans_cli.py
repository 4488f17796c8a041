"""`enode-scheduler plans add|list|remove` against a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import load_settings
from enode_scheduler.records import ChargerReading, ChargingLocation, VehicleReading
from enode_scheduler.store import open_store

HOME = ChargingLocation("loc-home", "u1", name="Home")
WORK = ChargingLocation("loc-work", "u1", name="Work")
CHARGERS = ("box-1", "box-2")


def seed(config: Path, locations: Sequence[ChargingLocation] = (HOME,)) -> None:
    """Cars car-1 and car-2 and chargers box-1 and box-2 of user u1 as the daemon would have
    stored them, and locations."""

    async def go() -> None:
        settings = load_settings(config)
        async with open_store(settings.database, state_dir=settings.state_dir) as store:
            await store.vehicles.save_readings(
                [
                    VehicleReading(v, "u1", "TESLA", None, True, 50.0, True, False, None, 60, 100)
                    for v in ("car-1", "car-2")
                ]
            )
            await store.chargers.save_charger_readings(
                [ChargerReading(c, "u1", "EASEE", None, True, True, False, None) for c in CHARGERS]
            )
            await store.locations.replace_locations("u1", list(locations))

    asyncio.run(go())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n\n[database]\nauto_migrate = true\n')
    seed(path)
    return path


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *args])
    # The command pointed logging at the runner's stream, which is closed now.
    structlog.reset_defaults()
    logging.getLogger().handlers = []
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
    assert plans["car-2"]["location_id"] == "loc-home"
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


def test_users_list_shows_who_must_link_again(config: Path) -> None:
    import asyncio

    from enode_scheduler.config import load_settings
    from enode_scheduler.records import UserRecord
    from enode_scheduler.store import open_store

    settings = load_settings(config)

    async def seed() -> None:
        async with open_store(settings.database, state_dir=settings.state_dir) as store:
            await store.users.upsert_user(UserRecord("u-ok"))
            await store.users.mark_needs_relink("u-gone", reason="refresh refused (HTTP 401)")

    asyncio.run(seed())
    code, out, _ = cli(config, "users", "list", "--json")
    assert code == 0, out
    # u1 is the fixture's own user (with a charging location, no tokens).
    assert json.loads(out) == [
        {"user_id": "u-gone", "status": "relink_required", "reason": "refresh refused (HTTP 401)"},
        {"user_id": "u-ok", "status": "not_linked", "reason": None},
        {"user_id": "u1", "status": "not_linked", "reason": None},
    ]
    code, out, _ = cli(config, "users", "list")
    assert "u-gone  relink_required  (refresh refused (HTTP 401))" in out


def test_charger_plans_via_a_wallbox_and_charger_only(config: Path) -> None:
    code, out, _ = cli(
        config, "plans", "add", "car-1", "--user", "u1", "--target", "80",
        "--by", "2099-01-02T07:30", "--via-charger", "box-1", "--min-soc", "30", "--tz", "UTC",
    )  # fmt: skip
    assert code == 0, out
    assert "80% by 2099-01-02 07:30 UTC via charger box-1" in out
    code, out, _ = cli(
        config, "plans", "add", "box-2", "--user", "u1", "--energy-kwh", "20", "--at", "07:00",
        "--days", "mon,fri", "--tz", "UTC",
    )  # fmt: skip
    assert code == 0, out
    assert "20 kWh through the charger at 07:00 UTC on mon,fri" in out
    plans = {p["vehicle_id"]: p for p in json.loads(cli(config, "plans", "list", "--json")[1])}
    assert (plans["car-1"]["target"], plans["car-1"]["charger_id"]) == ("charger", "box-1")
    assert plans["car-1"]["energy_kwh"] is None
    assert plans["car-1"]["min_soc_percent"] == 30
    assert (plans["box-2"]["charger_id"], plans["box-2"]["energy_kwh"]) == ("box-2", 20)
    # Both act only at the user's one location (a wallbox is where its plan says).
    assert {p["location_id"] for p in plans.values()} == {"loc-home"}


def test_unknown_or_another_users_charger_exits_2_and_stores_nothing(config: Path) -> None:
    for args, message in [
        (["box-9", "--energy-kwh", "20"], "unknown charger 'box-9'"),
        (["car-1", "--target", "80", "--via-charger", "box-9"], "unknown charger 'box-9'"),
        (["box-1", "--energy-kwh", "20", "--user", "u2"], "belongs to user 'u1', not 'u2'"),
    ]:
        user = [] if "--user" in args else ["--user", "u1"]
        code, _, err = cli(config, "plans", "add", *args, *user, "--at", "07:00")
        assert code == 2
        assert message in err
        assert len(err.strip().splitlines()) == 1
    assert json.loads(cli(config, "plans", "list", "--json")[1]) == []


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


def test_unknown_vehicle_or_another_users_vehicle_exits_2_and_stores_nothing(
    config: Path,
) -> None:
    for vehicle, user, message in [
        ("car-9", "u1", "unknown vehicle 'car-9'"),
        ("car-1", "u2", "belongs to user 'u1', not 'u2'"),
    ]:
        code, _, err = cli(config, "plans", "add", vehicle, "--user", user, "--target", "80",
                           "--at", "07:00")  # fmt: skip
        assert code == 2
        assert message in err
        assert len(err.strip().splitlines()) == 1
    assert json.loads(cli(config, "plans", "list", "--json")[1]) == []


def test_plan_without_a_location_is_stored_and_says_so_in_one_line(config: Path) -> None:
    seed(config, locations=())
    code, out, err = cli(config, "plans", "add", "car-1", "--user", "u1", "--target", "80",
                         "--at", "07:00")  # fmt: skip
    assert code == 0, err
    assert "plan set for car-1" in out
    assert len(err.strip().splitlines()) == 1
    assert "will not be controlled" in err
    assert "locations add --user u1" in err
    (plan,) = json.loads(cli(config, "plans", "list", "--json")[1])
    assert (plan["location_id"], plan["status"]) == (None, "no_location")


def test_location_is_named_by_name_or_id_and_must_be_chosen_among_several(config: Path) -> None:
    seed(config, locations=(HOME, WORK))
    base = ["plans", "add", "car-1", "--user", "u1", "--target", "80", "--at", "07:00"]
    code, _, err = cli(config, *base)
    assert code == 2
    assert "has 2 charging locations" in err
    code, _, err = cli(config, *base, "--location", "cabin")
    assert code == 2
    assert "no charging location 'cabin'" in err
    assert cli(config, *base, "--location", "work")[0] == 0
    (plan,) = json.loads(cli(config, "plans", "list", "--json")[1])
    assert plan["location_id"] == "loc-work"
    assert cli(config, *base, "--location", "loc-home")[0] == 0
    (plan,) = json.loads(cli(config, "plans", "list", "--json")[1])
    assert plan["location_id"] == "loc-home"
    code, out, _ = cli(config, "plans", "list")
    assert code == 0
    assert "Home" in out
    assert "active" in out


def test_locations_offline_list_the_stored_copy_and_cannot_change(config: Path) -> None:
    seed(config, locations=(HOME, WORK))
    code, out, err = cli(config, "locations", "list", "--user", "u1", "--json")
    assert code == 0, err
    assert [loc["name"] for loc in json.loads(out)] == ["Home", "Work"]
    code, _, err = cli(config, "locations", "add", "--user", "u1", "--name", "X",
                       "--lat", "1", "--lon", "2")  # fmt: skip
    assert code == 2
    assert "needs Enode" in err
