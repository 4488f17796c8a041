"""A new user's first hour: one clear line and the right exit code, quiet logs, honest help."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import LoggingSettings
from enode_scheduler.logs import configure_logging

REPO = Path(__file__).resolve().parents[2]
ENTRY = "from enode_scheduler.cli import main; main()"
PIP_PLOT = "pip install 'enode-scheduler[plot]'"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    # A command may point logging at the runner's stream, which is closed now.
    structlog.reset_defaults()
    logging.getLogger().handlers = []
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def no_db(tmp_path: Path) -> Path:
    """A config whose database was never set up (no auto_migrate)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n[enode]\nclient_id = "c"\nclient_secret = "s"\n'
        'api_url = "http://127.0.0.1:9"\n'
    )
    return path


def test_run_without_enode_credentials_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n')
    code, _, err = invoke("--config", str(path), "run")
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("error: enode.client_id: required to run the daemon")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["plans", "list"], id="plans-list"),
        pytest.param(
            ["plans", "add", "c1", "--user", "u", "--target", "80", "--at", "07:00"], id="plans-add"
        ),
        pytest.param(["vehicles"], id="vehicles"),
        pytest.param(["users", "list"], id="users-list"),
        pytest.param(["sites", "list"], id="sites-list"),
        pytest.param(["prices", "fetch", "--day", "2024-10-25", "--zone", "NO2"], id="prices"),
        pytest.param(["run"], id="run"),
    ],
)
def test_a_database_not_set_up_is_exit_2_with_one_hint(no_db: Path, args: list[str]) -> None:
    code, _, err = invoke("--config", str(no_db), *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].count("enode-scheduler db upgrade") == 1


def test_demo_plot_without_matplotlib_fails_before_running() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None; from enode_scheduler.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "demo", "--plot", "x.png"],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "error: --plot needs matplotlib: pip install 'enode-scheduler[plot]'"
    )
    assert done.stdout == ""


def test_help_shows_the_api_tokens_table_and_no_bool_metavar() -> None:
    _, out, _ = invoke("api", "hash-token", "--help")
    assert "`[[api.tokens]]`" in out
    _, out, _ = invoke("plans", "list", "--help")
    assert "--json" in out
    assert "<bool>" not in out


def test_alembic_is_quiet_at_info_and_console_times_are_iso() -> None:
    out = io.StringIO()
    configure_logging(LoggingSettings(level="info", format="console"), stream=out)
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    when = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    structlog.get_logger().info("plan_done", at=when)
    text = out.getvalue()
    assert "Context impl" not in text
    assert "at=2026-01-05T17:00:00+00:00" in text
    assert "datetime.datetime" not in text


def test_prices_show_names_the_span_a_file_covers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n[prices]\nzone = "NO1"\n')
    code, _, err = invoke("--config", str(path), "prices", "show", "--day", "2026-12-03")
    assert code == 1
    assert "yet" not in err
    assert "the file covers 2025-10-20 22:00 .. 2025-10-27 23:00 UTC" in " ".join(err.split())
    replay = tmp_path / "replay.toml"
    replay.write_text(f'state_dir = "{tmp_path}"\n[prices]\nsource = "replay"\nzone = "NO1"\n')
    code, out, err = invoke("--config", str(replay), "prices", "show", "--day", "2026-12-03",
                            "--json")  # fmt: skip
    assert code == 0, err
    assert len(json.loads(out)) == 96


def test_prices_show_names_the_currency(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n[prices]\ncurrency = "NOK"\n')
    code, out, err = invoke("--config", str(path), "prices", "show", "--day", "2024-10-25")
    assert code == 0, err
    assert "price NOK/kWh" in out


def _leaf_commands() -> list[list[str]]:
    import typer

    def walk(group: object, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, command in getattr(group, "commands", {}).items():
            found.append([*prefix, name])
            found.extend(walk(command, [*prefix, name]))
        return found

    return walk(typer.main.get_command(app), [])


def test_no_help_text_loses_a_bracketed_word_or_shows_bool() -> None:
    for command in _leaf_commands():
        _, out, _ = invoke(*command, "--help")
        # Rich markup eats `[clock]` and `[[api.tokens]]` unless escaped, leaving `` behind.
        assert "``" not in out, command
        assert "<bool>" not in out, command
