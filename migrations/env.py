"""Alembic environment: runs on a connection handed over by `store.migrate`, or on its own.

Run on its own (the `alembic` command with the top-level alembic.ini), it takes the database from
`-x url=...`, else from the config file in $ENODE_SCHEDULER_CONFIG, else the embedded default.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import context
from sqlalchemy.engine import Connection

from enode_scheduler.store.schema import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from enode_scheduler.config import load_settings
    from enode_scheduler.store.engine import create_engine

    config_path = os.environ.get("ENODE_SCHEDULER_CONFIG")
    settings = load_settings(Path(config_path) if config_path else None)
    database = settings.database
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        database = database.model_copy(update={"url": url})
    engine = create_engine(database, state_dir=settings.state_dir)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_configure)
    finally:
        await engine.dispose()


handed_over = context.config.attributes.get("connection")
if isinstance(handed_over, Connection):
    _configure(handed_over)
else:
    asyncio.run(_run_standalone())
