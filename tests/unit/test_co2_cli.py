"""`enode-scheduler co2 show|fetch` with a file source and a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import load_settings
from enode_scheduler.store import open_store


def _config(tmp_path: Path, *, source: str = "file", rows: int = 30) -> Path:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    lines = ["start_utc,g_co2_per_kwh"]
    lines += [f"{hour + timedelta(hours=i):%Y-%m-%dT%H:%M:%SZ},{100 + i}" for i in range(rows)]
    (tmp_path / "co2.csv").write_text("\n".join(lines) + "\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path}"\n[database]\nauto_migrate = true\n'
        f'[co2]\nsource = "{source}"\n[co2.file]\npath = "{tmp_path / "co2.csv"}"\n'
    )
    return config


def _cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "co2", *args])
    return result.exit_code, result.stdout, result.stderr


def test_show_prints_the_next_hours(tmp_path: Path) -> None:
    code, out, err = _cli(_config(tmp_path), "show", "--hours", "3", "--json")
    assert code == 0, err
    rows = json.loads(out)
    # the hour holding now, and the three after it started
    assert [r["g_co2_per_kwh"] for r in rows] == [102.0, 103.0, 104.0, 105.0]


def test_fetch_stores_under_the_source_region(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out, err = _cli(config, "fetch", "--hours", "24")
    assert code == 0, err
    assert "file:NO2: 25 slots" in out
    assert _cli(config, "fetch", "--hours", "24")[1].endswith("0 new or changed\n")

    async def stored() -> int:
        settings = load_settings(config, environ={})
        async with open_store(settings.database, state_dir=settings.state_dir) as store:
            now = datetime.now(UTC)
            slots = await store.intensity.get_intensity(
                "file:NO2", start=now - timedelta(days=1), end=now + timedelta(days=2)
            )
            return len(slots)

    assert asyncio.run(stored()) == 25


def test_no_source_and_a_bad_file_are_one_line_errors(tmp_path: Path) -> None:
    config = tmp_path / "plain.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n')
    code, _, err = _cli(config, "show")
    assert code == 2
    assert 'co2.source is "none"' in err
    config = _config(tmp_path)
    (tmp_path / "co2.csv").write_text("when,grams\n")
    code, _, err = _cli(config, "show")
    assert code == 1
    assert "header must be" in err
    assert len(err.strip().splitlines()) == 1
