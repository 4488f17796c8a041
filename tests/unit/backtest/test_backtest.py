"""Backtest pieces on a small sample of the real data in data/."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.replay import ReplayOptions, replay
from enode_scheduler.backtest.sessions import Session, move_to_year, read_sessions
from enode_scheduler.cli import app
from enode_scheduler.prices.file import read_price_csv

OSLO = ZoneInfo("Europe/Oslo")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture
def no2(data_dir: Path) -> PriceSeries:
    return PriceSeries(read_price_csv(data_dir / "prices/NO2_2024.csv"))


def _session(plug_in: str, plug_out: str, energy: float = 10.0) -> Session:
    return Session("s", _utc(plug_in), _utc(plug_out), energy, 3.6)


def test_move_keeps_weekday_local_time_and_duration(no2: PriceSeries) -> None:
    # Tuesday 6 Feb 2018, 15:45 Oslo (CET) -> a Tuesday near 6 Feb 2024, 15:45 Oslo
    session = _session("2018-02-06T14:45:00Z", "2018-02-07T05:52:00Z")
    moved = move_to_year(
        session,
        home_tz="Europe/Oslo",
        price_tz="Europe/Oslo",
        year=2024,
        first=no2.first,
        last=no2.last,
    )
    assert moved is not None
    local = moved.plug_in.astimezone(OSLO)
    assert local.weekday() == 1
    assert (local.hour, local.minute) == (15, 45)
    assert abs((local.date() - datetime(2024, 2, 6).date()).days) <= 3
    assert moved.plug_out - moved.plug_in == session.plug_out - session.plug_in


def test_move_keeps_summer_wall_clock_and_stays_inside_prices(no2: PriceSeries) -> None:
    session = _session("2019-12-30T16:00:00Z", "2020-01-02T08:00:00Z")  # Monday 17:00 CET
    moved = move_to_year(
        session,
        home_tz="Europe/Oslo",
        price_tz="Europe/Oslo",
        year=2024,
        first=no2.first,
        last=no2.last,
    )
    assert moved is not None
    assert moved.plug_out <= no2.last
    local = moved.plug_in.astimezone(OSLO)
    assert (local.weekday(), local.hour) == (0, 17)


def test_publication_model(no2: PriceSeries) -> None:
    # before 12:45 Brussels time only today is known; after, tomorrow too
    assert no2.known_at(_utc("2024-03-05T10:00:00Z")) == _utc("2024-03-05T23:00:00Z")
    assert no2.known_at(_utc("2024-03-05T12:00:00Z")) == _utc("2024-03-06T23:00:00Z")
    assert no2.publications(_utc("2024-03-05T10:00:00Z"), _utc("2024-03-07T10:00:00Z")) == [
        _utc("2024-03-05T11:45:00Z"),
        _utc("2024-03-06T11:45:00Z"),
    ]


def test_replay_orders_the_three_costs_on_real_sessions(data_dir: Path, no2: PriceSeries) -> None:
    sessions = read_sessions(data_dir / "sessions/norway_residential_sessions.csv.gz")[:40]
    options = ReplayOptions()
    for session in sessions:
        moved = move_to_year(
            session,
            home_tz="Europe/Oslo",
            price_tz="Europe/Oslo",
            year=2024,
            first=no2.first,
            last=no2.last,
        )
        assert moved is not None
        outcome = replay(moved, no2, options)
        assert outcome.foresight_cost <= outcome.planned_cost + 1e-6
        assert outcome.planned_cost <= outcome.baseline_cost + 1e-6 or outcome.replans > 0
        charged_h = sum((e - s).total_seconds() for s, e in outcome.planned) / 3600
        power = moved.max_power_kw or options.default_power_kw
        assert charged_h * power == pytest.approx(outcome.energy_kwh, rel=1e-6, abs=1e-6)
        assert all(moved.plug_in <= s < e <= moved.plug_out for s, e in outcome.planned)


def test_backtest_command_json_on_a_sample(data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--prices",
            str(data_dir / "prices/DE_LU_2024.csv"),
            "--sessions",
            str(data_dir / "sessions/norway_residential_sessions.csv.gz"),
            "--sample",
            "25",
            "--format",
            "json",
            "--plot",
            str(tmp_path / "week.png"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert summary["sessions"] == 25
    assert summary["foresight_cost"] <= summary["planned_cost"] + 1e-6
    assert summary["saving"] > 0
    assert (tmp_path / "week.png").read_bytes()[:4] == b"\x89PNG"


def test_backtest_acn_sessions_move_from_los_angeles(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--prices",
            str(data_dir / "prices/NO2_2024.csv"),
            "--sessions",
            str(data_dir / "sessions/acn_caltech_2021_sessions.csv.gz"),
            "--limit",
            "10",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["sessions"] == 10


def test_backtest_bad_options_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "--format", "xml"])
    assert result.exit_code == 2
    assert "--format must be table or json" in result.stderr
    result = CliRunner().invoke(app, ["backtest", "--sessions", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_plot_without_matplotlib_is_one_line_exit_2(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a None entry makes `import matplotlib` fail exactly as when it is not installed
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--prices",
            str(data_dir / "prices/NO2_2024.csv"),
            "--limit",
            "3",
            "--plot",
            str(tmp_path / "week.png"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "backtest: --plot needs matplotlib: pip install 'enode-scheduler[plot]'"
    )
