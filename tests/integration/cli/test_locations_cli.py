"""`locations list|add|remove` and `plans add` against the fake Enode over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.clock import SystemClock
from enode_scheduler.config import load_settings
from enode_scheduler.records import UserTokens
from enode_scheduler.sim import RunningSim
from enode_scheduler.store import open_store

USER = "user-1"


@pytest.fixture
async def config(sim: RunningSim, tmp_path: Path) -> Path:
    """A config on the sim with user-1 linked (tokens stored as the link flow would)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n[database]\nauto_migrate = true\n'
        f'[enode]\nclient_id = "{sim.client_id}"\nclient_secret = "{sim.client_secret}"\n'
        f'api_url = "{sim.api_url}"\ntoken_url = "{sim.token_url}"\n'
    )
    settings = load_settings(path)
    issued = sim.state.issue_user_token(USER)
    # The CLI judges expiry on the wall clock; the sim on its own (a week of sim time).
    expires = SystemClock().now() + timedelta(hours=1)
    async with open_store(settings.database, state_dir=tmp_path) as store:
        await store.tokens.save_tokens(
            USER, UserTokens(issued.access_token, issued.refresh_token, expires)
        )
    return path


async def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, ["--config", str(config), *args])
    structlog.reset_defaults()
    logging.getLogger().handlers = []
    return result.exit_code, result.stdout, result.stderr


def cars_of(sim: RunningSim, user_id: str) -> list[str]:
    return sorted(v.id for v in sim.state.vehicles.values() if v.user_id == user_id)


async def test_locations_list_add_remove_at_enode(sim: RunningSim, config: Path) -> None:
    code, out, err = await cli(config, "locations", "list", "--user", USER, "--json")
    assert code == 0, err
    (home,) = json.loads(out)
    assert home["name"] == "Home"
    car = cars_of(sim, USER)[0]
    sim.state.vehicles[car].latitude, sim.state.vehicles[car].longitude = 60.39, 5.32
    code, out, err = await cli(
        config, "locations", "add", "--user", USER, "--name", "Cabin", "--from-vehicle", car
    )
    assert code == 0, err
    cabin = next(v for v in sim.state.users[USER].locations.values() if v["name"] == "Cabin")
    assert (cabin["latitude"], cabin["longitude"]) == (60.39, 5.32)
    code, out, err = await cli(
        config, "locations", "add", "--user", USER, "--name", "Work", "--lat", "59.9",
        "--lon", "10.7",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = await cli(config, "locations", "list", "--user", USER, "--json")
    assert sorted(loc["name"] for loc in json.loads(out)) == ["Cabin", "Home", "Work"]
    assert (await cli(config, "locations", "remove", "cabin", "--user", USER))[0] == 0
    assert cabin["id"] not in sim.state.users[USER].locations
    code, _, err = await cli(config, "locations", "remove", "cabin", "--user", USER)
    assert code == 2
    assert "no charging location 'cabin'" in err
    code, _, err = await cli(config, "locations", "add", "--user", USER, "--name", "X")
    assert code == 2
    assert "--from-vehicle or --lat/--lon" in err


async def test_plans_add_checks_the_car_with_enode_and_uses_the_only_location(
    sim: RunningSim, config: Path
) -> None:
    mine, theirs = cars_of(sim, USER)[0], cars_of(sim, "user-2")[0]
    add = ["plans", "add", "--target", "80", "--at", "07:00"]
    # Another user's car, read with this user's token: Enode does not know it for them.
    code, _, err = await cli(config, *add, theirs, "--user", USER)
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert "unknown vehicle" in err
    code, _, err = await cli(config, *add, "no-such-car", "--user", USER)
    assert code == 2
    assert "Enode has no such vehicle" in err
    # A typo in --user: that user is not linked, so the car is not theirs.
    code, _, err = await cli(config, *add, mine, "--user", "user-1x")
    assert code == 2
    assert "not linked" in err
    assert json.loads((await cli(config, "plans", "list", "--json"))[1]) == []
    code, _, err = await cli(config, *add, mine, "--user", USER)
    assert code == 0, err
    (plan,) = json.loads((await cli(config, "plans", "list", "--json"))[1])
    home = sim.state.home_location_id(USER)
    assert (plan["location_id"], plan["status"]) == (home, "active")
    # The car is stored now: the other user's claim on it is refused without asking Enode.
    code, _, err = await cli(config, *add, mine, "--user", "user-2")
    assert code == 2
    assert f"belongs to user {USER!r}" in err


async def test_removing_the_location_orphans_the_plan_and_a_new_one_is_adopted(
    sim: RunningSim, config: Path
) -> None:
    car = cars_of(sim, USER)[0]
    add = ["plans", "add", car, "--user", USER, "--target", "80", "--at", "07:00"]
    assert (await cli(config, *add))[0] == 0
    code, out, err = await cli(config, "locations", "remove", "Home", "--user", USER)
    assert code == 0, err
    assert car in out
    (plan,) = json.loads((await cli(config, "plans", "list", "--json"))[1])
    assert plan["status"] == "no_location"
    code, out, err = await cli(
        config, "locations", "add", "--user", USER, "--name", "House", "--from-vehicle", car
    )
    assert code == 0, err
    assert f"plans of {car} now apply at House" in out
    (plan,) = json.loads((await cli(config, "plans", "list", "--json"))[1])
    assert plan["status"] == "active"
    assert plan["location_id"] in sim.state.users[USER].locations
