"""`enode-scheduler sites add|attach|detach|list|remove` against a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import load_settings
from enode_scheduler.records import UserRecord
from enode_scheduler.store import open_store


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n\n[database]\nauto_migrate = true\n')
    return path


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def ok(config: Path, *args: str) -> str:
    code, out, err = cli(config, *args)
    assert code == 0, err
    return out


def add_user(config: Path, user: str) -> None:
    """A user as linking one would have stored it (the CLI cannot make one without Enode)."""

    async def go() -> None:
        settings = load_settings(config)
        async with open_store(settings.database, state_dir=settings.state_dir) as store:
            await store.users.upsert_user(UserRecord(user, linked=True))

    asyncio.run(go())


def sites(config: Path) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(ok(config, "sites", "list", "--json"))
    return listed


def test_add_attach_list_detach_remove(config: Path) -> None:
    add_user(config, "u1")
    add_user(config, "u2")
    assert "created with a cap of 22 kW" in ok(config, "sites", "add", "garage", "--max-kw", "22")
    out = ok(config, "sites", "add", "garage", "--max-kw", "11")
    assert "exists: cap changed from 22 kW to 11 kW" in out
    ok(config, "sites", "attach", "garage", "--user", "u2", "--location", "bay-7")
    out = ok(config, "sites", "attach", "garage", "--user", "u1", "--location", "bay-3")
    assert "2 location(s), cap 11 kW" in out
    ok(config, "sites", "add", "house", "--max-kw", "7.4")
    listed = sites(config)
    assert [(s["name"], s["max_kw"]) for s in listed] == [("garage", 11.0), ("house", 7.4)]
    assert listed[0]["locations"] == [
        {"user_id": "u1", "location_id": "bay-3"},
        {"user_id": "u2", "location_id": "bay-7"},
    ]
    table = ok(config, "sites", "list")
    assert "garage" in table
    assert "u2 / bay-7" in table
    ok(config, "sites", "detach", "garage", "--user", "u1", "--location", "bay-3")
    assert sites(config)[0]["locations"] == [{"user_id": "u2", "location_id": "bay-7"}]
    assert "site garage removed" in ok(config, "sites", "remove", "garage")
    assert [s["name"] for s in sites(config)] == ["house"]
    # The removed site's location is free for another site.
    ok(config, "sites", "attach", "house", "--user", "u2", "--location", "bay-7")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["add", "garage", "--max-kw", "0"], "max_kw 0.0", id="zero-cap"),
        pytest.param(["add", "garage", "--max-kw", "-5"], "max_kw -5.0", id="negative-cap"),
        pytest.param(["add", "my garage", "--max-kw", "5"], "site name 'my garage'", id="name"),
        pytest.param(["remove", "nowhere"], "site 'nowhere' does not exist", id="remove-unknown"),
        pytest.param(
            ["attach", "nowhere", "--user", "u1", "--location", "x"],
            "site 'nowhere' does not exist",
            id="attach-unknown-site",
        ),
        pytest.param(
            ["attach", "garage", "--user", "ghost", "--location", "x"],
            "user 'ghost' is not known",
            id="attach-unknown-user",
        ),
        pytest.param(
            ["attach", "house", "--user", "u1", "--location", "bay-3"],
            "location 'bay-3' of user 'u1' is already in site 'garage'",
            id="attach-taken",
        ),
        pytest.param(
            ["detach", "garage", "--user", "u1", "--location", "bay-9"],
            "location 'bay-9' of user 'u1' is not in site 'garage'",
            id="detach-not-attached",
        ),
        pytest.param(
            ["detach", "nowhere", "--user", "u1", "--location", "bay-3"],
            "site 'nowhere' does not exist",
            id="detach-unknown-site",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(config: Path, args: list[str], message: str) -> None:
    add_user(config, "u1")
    ok(config, "sites", "add", "garage", "--max-kw", "22")
    ok(config, "sites", "add", "house", "--max-kw", "11")
    ok(config, "sites", "attach", "garage", "--user", "u1", "--location", "bay-3")
    before = sites(config)
    code, _, err = cli(config, "sites", *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert sites(config) == before  # nothing changed


def test_readme_site_case_plans_under_its_cap(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme[readme.index("## Sites") : readme.index("## HTTP API")]
    case = section.split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "case.json"
    path.write_text(case)
    result = CliRunner().invoke(app, ["plan-site", str(path)])
    assert result.exit_code == 0, result.stderr
    planned = json.loads(result.stdout)
    assert [v["feasible"] for v in planned["vehicles"]] == [True, True]
    assert planned["peak_kw"] <= json.loads(case)["site"]["max_kw"]
