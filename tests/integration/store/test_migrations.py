"""Migrations: up, down and up again on an empty database; models and migrations agree."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.store import migrate
from enode_scheduler.store.engine import create_engine
from enode_scheduler.store.schema import Base

TABLES = {
    "chargers",
    "users",
    "vehicles",
    "plans",
    "schedules",
    "price_slots",
    "command_intents",
    "vehicle_overrides",
    "co2_slots",
    "charging_locations",
    "sites",
    "site_locations",
    "notify_outbox",
    "plan_outcomes",
    "rate_gates",
    "token_key_check",
    "link_states",
    "replicas",
    "shard_leases",
}


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade(empty_db_url: str, tmp_path: Path) -> None:
    engine = create_engine(DatabaseSettings(url=empty_db_url), state_dir=tmp_path)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == TABLES
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        assert await migrate.current_revisions(engine) == set()
        await migrate.upgrade(engine)
        assert await migrate.current_revisions(engine) == migrate.head_revisions()
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(empty_db_url: str, tmp_path: Path) -> None:
    engine = create_engine(DatabaseSettings(url=empty_db_url), state_dir=tmp_path)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


def test_a_checkout_migrates_with_its_own_top_level_scripts() -> None:
    root = Path(__file__).resolve().parents[3]
    assert migrate.script_location() == root / "migrations"
    assert list((root / "migrations" / "versions").glob("v*.py"))
    assert not (root / "enode_scheduler" / "migrations" / "env.py").exists()
