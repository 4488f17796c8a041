"""The CO2 backtest on the real DE_LU/FR intensity and prices committed in data/co2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enode_scheduler.backtest.co2 import (
    AT_ONCE,
    replay_co2,
    series_with_intensity,
    strategies,
    summarise_co2,
)
from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.replay import ReplayOptions
from enode_scheduler.backtest.sessions import Session
from enode_scheduler.cli import app
from enode_scheduler.prices.co2.file import read_intensity_csv
from enode_scheduler.prices.file import read_price_csv

DATA = Path(__file__).resolve().parents[3] / "data" / "co2"


@pytest.fixture(scope="module")
def de_2024() -> PriceSeries:
    prices = PriceSeries(read_price_csv(DATA / "prices/DE_LU_2024.csv.gz"))
    return series_with_intensity(prices, read_intensity_csv(DATA / "intensity/DE_LU_2024.csv.gz"))


def _evening(day: int) -> Session:
    # plugged in after the 12:45 publication, gone before the next: everything is known
    plug_in = datetime(2024, 6, day, 13, 0, tzinfo=UTC)
    return Session(f"s{day}", plug_in, plug_in + timedelta(hours=22), 20.0, 3.7)


def test_each_objective_wins_at_its_own_game(de_2024: PriceSeries) -> None:
    plans = strategies([0.08, 0.3])
    assert [p.name for p in plans] == [
        "price only", "blend 0.08 EUR/kg CO2", "blend 0.3 EUR/kg CO2", "CO2 only",
    ]  # fmt: skip
    outcomes = [replay_co2(_evening(d), de_2024, ReplayOptions(), plans) for d in range(3, 10)]
    summary = summarise_co2("DE_LU_2024", outcomes, skipped=0)
    cost = {name: c for name, c, _, _, _ in summary.rows()}
    kg = {name: k for name, _, k, _, _ in summary.rows()}
    assert min(cost, key=cost.__getitem__) == "price only"
    assert min(kg, key=kg.__getitem__) == "CO2 only"
    # a higher CO2 price buys less CO2 for more money
    assert cost["price only"] <= cost["blend 0.08 EUR/kg CO2"] <= cost["blend 0.3 EUR/kg CO2"]
    assert kg["price only"] >= kg["blend 0.08 EUR/kg CO2"] >= kg["blend 0.3 EUR/kg CO2"]
    assert kg["CO2 only"] < kg[AT_ONCE]
    # 7 sessions x 20 kWh, every strategy charges the same energy
    assert summary.energy_kwh == pytest.approx(140.0)


def test_intensity_series_must_cover_every_price_hour() -> None:
    prices = PriceSeries(read_price_csv(DATA / "prices/FR_2024.csv.gz"))
    intensity = read_intensity_csv(DATA / "intensity/FR_2024.csv.gz")
    with pytest.raises(ValueError, match="no intensity for 24 price slot"):
        series_with_intensity(prices, intensity[:-24])


def test_backtest_co2_command_json(data_dir: Path) -> None:
    sessions = data_dir / "sessions/norway_residential_sessions.csv.gz"
    result = CliRunner().invoke(
        app,
        ["backtest", "--sessions", str(sessions), "--co2", str(DATA / "intensity/FR_2023.csv.gz"),
         "--limit", "40", "--format", "json", "--co2-price", "0.5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert summary["prices"] == "FR_2023"
    names = [row["strategy"] for row in summary["strategies"]]
    assert names == [AT_ONCE, "price only", "blend 0.5 EUR/kg CO2", "CO2 only"]
    assert summary["strategies"][0]["co2_saving_percent"] == 0.0
    assert summary["sessions"] + summary["skipped"] == 40


def test_backtest_co2_needs_one_price_file_per_intensity_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["backtest", "--co2", str(DATA / "intensity/FR_2023.csv.gz"),
         "--prices", str(DATA / "prices/FR_2023.csv.gz"),
         "--prices", str(DATA / "prices/FR_2024.csv.gz")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "one --co2 per --prices" in result.stderr
    lonely = tmp_path / "intensity" / "XX_2024.csv"
    lonely.parent.mkdir()
    lonely.write_text("start_utc,g_co2_per_kwh\n")
    result = CliRunner().invoke(app, ["backtest", "--co2", str(lonely)])
    assert result.exit_code == 2
    assert "pass --prices" in result.stderr
