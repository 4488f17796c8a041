"""`enode-scheduler replicas`: live replicas, their shards and cars, on SQLite and PostgreSQL.

Rows are written through `store.shards` as the daemons would; the command is run as a user does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import load_settings
from enode_scheduler.store import open_store
from tests.integration.store.conftest import PgDatabases

SHARDS = 8
REPLICA_KEYS = {
    "holder", "started_at", "heartbeat_at", "heartbeat_age_s", "expires_at", "shards_owned",
    "cars",
}  # fmt: skip


@pytest.fixture(scope="module")
def pg_databases(postgres_url: str) -> Iterator[PgDatabases]:
    databases = PgDatabases(postgres_url)
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A config on a fresh, migrated database of each backend, with 8 shards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'replicas.db'}"
    else:
        url = request.getfixturevalue("pg_databases").create()
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n[database]\nurl = "{url}"\nauto_migrate = true\n'
        f"[scheduler]\nshards = {SHARDS}\n"
    )
    return path


async def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, ["--config", str(config), *args])
    structlog.reset_defaults()
    logging.getLogger().handlers = []
    return result.exit_code, result.stdout, result.stderr


async def _replica(config: Path, holder: str, *, wanted: int, cars: int, ttl_s: float) -> None:
    """What a daemon's renewal writes: a heartbeat, then a claim of its share."""
    settings = load_settings(config)
    async with open_store(settings.database, state_dir=settings.state_dir) as store:
        await store.shards.heartbeat(holder, ttl_s=ttl_s, shards_owned=wanted, cars=cars)
        await store.shards.claim(holder, wanted=wanted, total=SHARDS, ttl_s=ttl_s)


async def test_no_daemon_yet(config: Path) -> None:
    code, out, err = await cli(config, "replicas")
    assert code == 0, err
    assert "no daemon is running" in out
    assert f"shards without a live owner: {SHARDS} of {SHARDS}" in out
    code, out, err = await cli(config, "replicas", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["replicas"] == []
    assert (report["shards_total"], report["shards_without_owner"]) == (SHARDS, SHARDS)
    assert report["cars_total"] == 0


async def test_one_process_owning_every_shard(config: Path) -> None:
    await _replica(config, "host-a:101", wanted=SHARDS, cars=12, ttl_s=60)
    code, out, err = await cli(config, "replicas", "--json")
    assert code == 0, err
    report = json.loads(out)
    (row,) = report["replicas"]
    assert set(row) == REPLICA_KEYS
    assert (row["holder"], row["shards_owned"], row["cars"]) == ("host-a:101", SHARDS, 12)
    assert 0 <= row["heartbeat_age_s"] < 60
    assert report["shards_without_owner"] == 0
    assert report["database"] in ("sqlite", "postgresql")
    code, out, err = await cli(config, "replicas")
    assert code == 0, err
    line = next(line for line in out.splitlines() if "host-a:101" in line)
    cells = [cell.strip() for cell in line.split("\u2502") if cell.strip()]
    assert cells[-2:] == [str(SHARDS), "12"]
    assert f"shards without a live owner: 0 of {SHARDS}" in out


async def test_a_dead_replica_is_gone_and_its_shards_have_no_owner(config: Path) -> None:
    await _replica(config, "b:2", wanted=3, cars=30, ttl_s=60)
    await _replica(config, "a:1", wanted=3, cars=20, ttl_s=60)
    # Stopped renewing: its heartbeat and its leases have expired.
    await _replica(config, "c:3", wanted=2, cars=10, ttl_s=0)
    code, out, err = await cli(config, "replicas", "--json")
    assert code == 0, err
    report = json.loads(out)
    rows = [(r["holder"], r["shards_owned"], r["cars"]) for r in report["replicas"]]
    assert rows == [("a:1", 3, 20), ("b:2", 3, 30)]
    assert report["shards_without_owner"] == 2
    assert report["cars_total"] == 50


async def test_a_database_not_set_up_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n')
    code, _, err = await cli(path, "replicas")
    assert code == 2
    assert "db upgrade" in err
