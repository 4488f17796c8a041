"""The CLI starts light: `--version`, `--help` (of every command) and `plan-case` load none of
the libraries the daemon is made of. benchmarks/cli_start.py times them; these tests name the
modules, so a heavy import that creeps back fails here whatever the machine's speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.planner.helpers import case_json

REPO = Path(__file__).resolve().parents[2]
ENTRY = "from enode_scheduler.cli import main; main()"

# What the daemon, the API and the adapters need; a command loads them when it runs.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "httpcore",
    "pydantic_settings",
    "structlog",
    "apscheduler",
    "cryptography",
    "matplotlib",
    "enode_scheduler.config",
    "enode_scheduler.store",
    "enode_scheduler.enode",
    "enode_scheduler.api",
    "enode_scheduler.service",
    "enode_scheduler.daemon",
    "enode_scheduler.bootstrap",
    "enode_scheduler.sim",
    "enode_scheduler.prices",
    "enode_scheduler.backtest",
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENODE_SCHEDULER")}
    env["PYTHONPATH"] = str(REPO)
    return env


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules that are one of `packages` or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages))


def _run_importtime(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI like the entry point does; the modules it imported, from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, modules


def test_the_import_record_is_read() -> None:
    # Guards the parsing below: were it to find nothing, every absence would pass vacuously.
    done, modules = _run_importtime("--version")
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"typer", "enode_scheduler.cli", "enode_scheduler.commands.plans"} <= modules


def test_version_loads_nothing_heavy() -> None:
    done, modules = _run_importtime("--version")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()[0].isdigit()
    assert _loaded(modules, (*HEAVY, "rich", "pydantic")) == []


def test_root_help_loads_nothing_heavy() -> None:
    done, modules = _run_importtime("--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "plan-case" in done.stdout
    assert "Database schema migrations" in done.stdout
    # rich renders the help (as it always has); pydantic is not needed to show it.
    assert _loaded(modules, (*HEAVY, "pydantic")) == []


def test_plan_case_loads_the_planner_only(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps(
            case_json(now="2024-03-05T18:00:00Z", deadline="2024-03-06T00:00:00Z", prices=[0.3] * 6)
        ),
        encoding="utf-8",
    )
    done, modules = _run_importtime("plan-case", str(case))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["feasible"] is True
    assert "enode_scheduler.planner" in modules
    # typer itself coerces arguments with pydantic (not pydantic-settings); rich is not needed
    # to print JSON.
    assert _loaded(modules, (*HEAVY, "rich")) == []


_EVERY_HELP = """
import json, sys
import typer
from typer.testing import CliRunner
from enode_scheduler.cli import app

def paths(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from paths(command, (*prefix, name))

shown = []
for path in paths(typer.main.get_command(app)):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    shown.append(" ".join(path))
print(json.dumps({"shown": shown, "modules": sorted(sys.modules)}))
"""


def test_every_command_help_loads_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EVERY_HELP],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert {"run", "db upgrade", "prices show", "webhooks register", "plan-case"} <= set(
        report["shown"]
    )
    assert _loaded(set(report["modules"]), HEAVY) == []
