"""Where the backtest finds its data, and the time zone it gives each price series."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from enode_scheduler.backtest import defaults
from enode_scheduler.backtest.market import zone_of
from enode_scheduler.backtest.sessions import Session, move_to_year, read_sessions
from enode_scheduler.cli import app
from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.prices.zones import ZONES


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_every_supported_zone_maps_to_its_own_time_zone(zone: str) -> None:
    assert zone_of(f"{zone}_2024.csv") == ZONES[zone].timezone
    assert zone_of(f"/some/where/{zone.lower()}_2025_15min.csv") == ZONES[zone].timezone
    assert zone_of("prices.csv", zone) == ZONES[zone].timezone


def test_estonia_is_tallinn_not_brussels() -> None:
    # 17:00 on a Tuesday in Oslo becomes 17:00 in Tallinn (15:00 UTC in winter), not Brussels.
    session = Session(
        "s",
        datetime(2018, 2, 6, 16, 0, tzinfo=UTC),
        datetime(2018, 2, 7, 6, 0, tzinfo=UTC),
        10.0,
        3.6,
    )
    moved = move_to_year(
        session,
        home_tz="Europe/Oslo",
        price_tz=zone_of("EE_2024.csv"),
        year=2024,
        first=datetime(2024, 1, 1, tzinfo=UTC),
        last=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert moved is not None
    assert moved.plug_in.hour == 15
    assert moved.plug_in.astimezone(ZoneInfo("Europe/Tallinn")).hour == 17


@pytest.mark.parametrize("name", ["XX_2024.csv", "prices.csv", "NO_2024.csv", "2024.csv"])
def test_a_file_name_without_a_known_zone_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="pass --zone") as caught:
        zone_of(name)
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_zone_in_a_file_name_exits_2_with_one_line(data_dir: Path, tmp_path: Path) -> None:
    prices = tmp_path / "XX_2024.csv"
    shutil.copy(data_dir / "prices/NO2_2024.csv", prices)
    result = CliRunner().invoke(app, ["backtest", "--prices", str(prices), "--limit", "3"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"backtest: {prices}: no known price zone in the file name ('XX')")


def test_unknown_zone_option_exits_2_with_one_line(data_dir: Path) -> None:
    prices = str(data_dir / "prices/NO2_2024.csv")
    result = CliRunner().invoke(app, ["backtest", "--prices", prices, "--zone", "Atlantis"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("backtest: unknown price zone 'Atlantis'")


def test_zone_option_names_the_zone_of_any_file(data_dir: Path, tmp_path: Path) -> None:
    prices = tmp_path / "my-prices.csv"
    shutil.copy(data_dir / "prices/NO2_2024.csv", prices)
    args = ["backtest", "--prices", str(prices), "--zone", "EE", "--limit", "5", "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert (summary["prices"], summary["sessions"]) == ("my-prices", 5)


def test_defaults_are_the_repository_data(data_dir: Path) -> None:
    assert defaults.default_sessions() == data_dir / "sessions/norway_residential_sessions.csv.gz"
    assert defaults.default_prices() == [
        data_dir / "prices/NO2_2024.csv",
        data_dir / "prices/DE_LU_2024.csv",
    ]
    result = CliRunner().invoke(app, ["backtest", "--limit", "4", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    summaries = json.loads(result.stdout)
    assert [(s["prices"], s["sessions"]) for s in summaries] == [
        ("NO2_2024", 4),
        ("DE_LU_2024", 4),
    ]


@pytest.mark.parametrize(
    ("given", "option"),
    [([], "--prices"), (["--prices", "{data}/prices/NO2_2024.csv"], "--sessions")],
)
def test_missing_default_data_is_one_line_exit_2(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    given: list[str],
    option: str,
) -> None:
    # As from an installed wheel: no data/ beside the package.
    monkeypatch.setattr(defaults, "REPO_DATA_DIR", tmp_path / "data")
    args = [arg.format(data=data_dir) for arg in given]
    result = CliRunner().invoke(app, ["backtest", *args])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"backtest: default data file {tmp_path / 'data'}/")
    assert line.endswith(f"not with the installed package); pass {option}")


def test_gzipped_and_plain_sessions_read_alike(data_dir: Path, tmp_path: Path) -> None:
    packed = data_dir / "sessions/acn_caltech_2021_sessions.csv.gz"
    plain = tmp_path / "acn.csv"
    plain.write_bytes(gzip.decompress(packed.read_bytes()))
    sessions = read_sessions(packed)
    assert len(sessions) == 1691
    assert read_sessions(plain) == sessions


def test_a_truncated_gzip_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "cut.csv.gz"
    broken.write_bytes((data_dir / "sessions/acn_caltech_2021_sessions.csv.gz").read_bytes()[:500])
    with pytest.raises(InvalidInput, match=r"cut\.csv\.gz: cannot read: ") as caught:
        read_sessions(broken)
    assert "\n" not in str(caught.value)
