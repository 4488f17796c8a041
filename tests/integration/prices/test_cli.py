from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app

from .conftest import PriceServer, fixture_answer

runner = CliRunner()

TARIFF = """
[prices.tariff]
supplier_markup_per_kwh = 0.05
vat = 0.25
grid_fees = [{ name = "flat", price_per_kwh = 0.035 }]
"""


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


def test_show_json_from_packaged_file_prices_with_tariff(tmp_path: Path) -> None:
    path = config(tmp_path, '[prices]\nsource = "file"\nzone = "NO2"\n' + TARIFF)
    result = runner.invoke(
        app, ["-c", str(path), "prices", "show", "--day", "2024-10-27", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 25
    assert rows[0] == {
        "start": "2024-10-26T22:00:00Z",
        "end": "2024-10-26T23:00:00Z",
        # (45.21 / 1000 + 0.05) * 1.25 + 0.035 = 0.1190125 + 0.035 = 0.1540125
        "price_per_kwh": pytest.approx(0.1540125, abs=1e-6),
        "spot_per_mwh": 45.21,
    }


def test_show_table_and_plot(tmp_path: Path) -> None:
    table = runner.invoke(app, ["prices", "show", "--zone", "no1", "--day", "2025-10-26"])
    assert table.exit_code == 0, table.output
    assert "100 slots" in table.output
    png = tmp_path / "day.png"
    plotted = runner.invoke(
        app, ["prices", "show", "-z", "NO1", "-d", "2025-10-26", "--plot", str(png)]
    )
    assert plotted.exit_code == 0, plotted.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["prices", "show", "--zone", "XX"], 2, "--zone: unknown price zone 'XX'"),
        (["prices", "show", "--day", "27.10.2024"], 2, "--day: expected YYYY-MM-DD"),
        (["prices", "show", "--day", "2031-01-01"], 1, "no prices for"),
    ],
)
def test_bad_input_is_one_line_with_exit_code(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    path = config(tmp_path, '[prices]\nsource = "entsoe"\nzone = "NO2"\n')
    result = runner.invoke(app, ["-c", str(path), "prices", "show", "--day", "2024-03-05"])
    assert result.exit_code == 2
    assert "prices.entsoe.security_token" in result.output


def test_fetch_from_entsoe_over_loopback_stores_once(
    tmp_path: Path, price_server: PriceServer
) -> None:
    price_server.responder = lambda p, q: fixture_answer("entsoe_NO2_2024-03-05_PT60M_A01.xml")
    path = config(
        tmp_path,
        f'state_dir = "{tmp_path}"\n[database]\nauto_migrate = true\n'
        f'[prices]\nsource = "entsoe"\nzone = "NO2"\n'
        f'[prices.entsoe]\napi_url = "{price_server.url}"\nsecurity_token = "secret-token"\n',
    )
    args = ["-c", str(path), "prices", "fetch", "--day", "2024-03-05"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "NO2: 24 slots (60 min)" in first.output
    assert "24 new or changed" in first.output
    assert "secret-token" not in first.output
    assert price_server.requests[0][1]["securityToken"] == "secret-token"
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 new or changed" in again.output


def test_fetch_into_an_unmigrated_database_says_what_to_do(tmp_path: Path) -> None:
    path = config(tmp_path, f'state_dir = "{tmp_path}"\n[prices]\nsource = "file"\n')
    result = runner.invoke(app, ["-c", str(path), "prices", "fetch", "--day", "2024-10-27"])
    assert result.exit_code == 2  # a setup error, like every "database not set up"
    assert "upgrade" in result.output
    assert "Traceback" not in result.output
