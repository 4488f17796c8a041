"""Schema migrations (alembic) run from code, and the schema check every opener does.

The scripts live at the top of the repository (`migrations/`, beside alembic.ini) and are mapped
into the wheel as the package `enode_scheduler.migrations`, so an installed daemon migrates
without the source tree.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from enode_scheduler.exceptions import SchemaOutdated, StoreError
from enode_scheduler.store.base import DATABASE_ERRORS

T = TypeVar("T")
log = structlog.get_logger()
MIGRATION_LOCK_KEY = 0x656E6F6465  # "enode"
UPGRADE_HINT = "run `enode-scheduler db upgrade` (or set database.auto_migrate = true)"


def script_location() -> Path:
    """The migrations folder: a source checkout's own, else the copy installed in the package."""
    # A checkout run through PYTHONPATH next to an installed (possibly editable, other-checkout)
    # copy must migrate with its own scripts, not the installed ones.
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "alembic.ini").is_file() and (checkout / "migrations" / "env.py").is_file():
        return checkout / "migrations"
    spec = importlib.util.find_spec("enode_scheduler.migrations")
    if spec is None or not spec.submodule_search_locations:
        raise StoreError("migration scripts not found: enode_scheduler.migrations is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config() -> Config:
    config = Config()
    # The option goes through configparser interpolation: a "%" in the path must be doubled.
    config.set_main_option("script_location", str(script_location()).replace("%", "%%"))
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def read(conn: Connection) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    return await _run(engine, read)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda conn: _command(conn, command.upgrade, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda conn: _command(conn, command.downgrade, revision))


async def check_schema(engine: AsyncEngine, *, auto_migrate: bool) -> None:
    """Refuse a database that is not at the head revision, or upgrade it when allowed."""
    current, heads = await _revisions_beside_peers(engine), head_revisions()
    if current == heads:
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if not current <= known:
        raise SchemaOutdated(
            f"database schema is at revision {', '.join(sorted(current))}, which this version of "
            "enode-scheduler does not know; upgrade enode-scheduler"
        )
    if auto_migrate:
        await _upgrade_beside_peers(engine, heads)
        log.info("schema_upgraded", revisions=sorted(current), to=sorted(heads))
        return
    at = ", ".join(sorted(current)) or "empty (no tables)"
    raise SchemaOutdated(
        f"database schema is {at}, this version needs {', '.join(sorted(heads))}: {UPGRADE_HINT}"
    )


async def _revisions_beside_peers(engine: AsyncEngine) -> set[str]:
    """The current revisions; on SQLite a peer's migration longer than the busy timeout (a
    busy machine) makes even this read fail, so it is tried as often as an upgrade is."""
    for attempt in range(1, _SQLITE_UPGRADE_ATTEMPTS):
        try:
            return await current_revisions(engine)
        except StoreError:
            if engine.dialect.name != "sqlite":
                raise
        await asyncio.sleep(0.5 * attempt)
    return await current_revisions(engine)


async def _upgrade_beside_peers(engine: AsyncEngine, heads: set[str]) -> None:
    for attempt in range(1, _SQLITE_UPGRADE_ATTEMPTS + 1):
        try:
            await upgrade(engine)
            return
        except StoreError:
            if engine.dialect.name != "sqlite" or attempt == _SQLITE_UPGRADE_ATTEMPTS:
                raise
        # SQLite has no advisory lock: a peer migrating the same file holds the write lock and
        # ours gives up. Once the peer is done the schema is current and nothing is left to do.
        if await current_revisions(engine) == heads:
            return
        await asyncio.sleep(0.5 * attempt)


# With the 5 s busy timeout per attempt this waits out a peer's migration of about 30 s.
_SQLITE_UPGRADE_ATTEMPTS = 5


def _command(conn: Connection, fn: Callable[..., Any], revision: str) -> None:
    if conn.dialect.name == "postgresql":
        # Replicas started together with auto_migrate must not migrate at the same time; the
        # second one waits here, then finds the schema current and does nothing.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    config = alembic_config()
    config.attributes["connection"] = conn
    fn(config, revision)


async def _run(engine: AsyncEngine, fn: Callable[[Connection], T]) -> T:
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    except DATABASE_ERRORS as exc:
        raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc
