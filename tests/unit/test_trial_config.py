"""A trial against the fake Enode: the config `sim --write-config` writes, and `[clock]`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.clock import ScaledClock, SystemClock
from enode_scheduler.commands.context import clock_for, local_zone_name
from enode_scheduler.commands.sim import trial_config
from enode_scheduler.config import SchedulerSettings, Settings, load_settings

INFO = {
    "api_url": "http://127.0.0.1:8700",
    "token_url": "http://127.0.0.1:8700/oauth2/token",
    "authorize_url": "http://127.0.0.1:8700/oauth2/auth",
    "control_url": "http://127.0.0.1:8700/_sim",
    "client_id": "sim-client",
    "client_secret": "sim-secret",
    "clock_start": "2026-01-05T17:00:00+00:00",
    "clock_speed": 1200.0,
    "clock_anchor_unix": 1_800_000_000.0,
}


def test_the_written_config_loads_and_shares_the_sim_s_clock(tmp_path: Path) -> None:
    path = tmp_path / "try.toml"
    path.write_text(trial_config(INFO, path, redirect_port=8799))
    settings = load_settings(path)
    assert str(settings.enode.api_url).rstrip("/") == INFO["api_url"]
    assert str(settings.enode.redirect_uri) == "http://127.0.0.1:8799/oauth/callback"
    assert settings.prices.source == "replay"
    assert settings.database.auto_migrate is True
    assert settings.state_dir == tmp_path / "try-state"
    clock = clock_for(settings)
    assert isinstance(clock, ScaledClock)
    at_anchor = datetime(2026, 1, 5, 17, tzinfo=UTC)
    expected_s = (time.time() - 1_800_000_000.0) * 1200
    assert abs((clock.now() - at_anchor).total_seconds() - expected_s) < 1200 * 5


def test_without_a_clock_section_it_is_real_time() -> None:
    assert isinstance(clock_for(Settings()), SystemClock)


def test_run_help_shows_the_clock_options() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--speed", "--start", "--anchor-unix"):
        assert option in result.output
    sim = CliRunner().invoke(app, ["sim", "--help"], env={"COLUMNS": "200"})
    assert "--write-config" in sim.output


def test_the_configuration_reference_documents_the_clock() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    assert "clock.speed" in doc or "[clock]" in doc


def test_without_scheduler_timezone_plans_use_the_machine_s_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/Halifax")
    assert local_zone_name(Settings()) == "America/Halifax"
    configured = Settings(scheduler=SchedulerSettings(timezone="Europe/Oslo"))
    assert local_zone_name(configured) == "Europe/Oslo"
    monkeypatch.setenv("TZ", "Not/AZone")
    fallback = local_zone_name(Settings())  # /etc/localtime's zone, else UTC
    assert fallback != "Not/AZone"
    assert ZoneInfo(fallback) is not None
