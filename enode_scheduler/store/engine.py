"""The async engine: SQLite (aiosqlite, WAL) for one process, PostgreSQL (asyncpg) for many."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from enode_scheduler.config import DatabaseSettings

DB_FILE_NAME = "enode-scheduler.db"
SQLITE_BUSY_TIMEOUT_MS = 5000


def database_url(settings: DatabaseSettings, *, state_dir: Path) -> URL:
    """The configured URL with its async driver; a SQLite file in `state_dir` when none is set."""
    if settings.url is None:
        state_dir.mkdir(parents=True, exist_ok=True)
        return make_url(f"sqlite+aiosqlite:///{state_dir / DB_FILE_NAME}")
    url = make_url(settings.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL scheme {url.drivername!r}")


def create_engine(settings: DatabaseSettings, *, state_dir: Path) -> AsyncEngine:
    """An engine for the configured database; the caller disposes of it."""
    url = database_url(settings, state_dir=state_dir)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=settings.pool_size, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so read-then-write steps (leases) are atomic.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
