"""What only the SQL store does: encryption at rest, key rotation, the schema check, UTC columns."""

from __future__ import annotations

import asyncio
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.exceptions import SchemaOutdated, StoreError, TokenDecryptError
from enode_scheduler.records import UserTokens
from enode_scheduler.store import open_store
from enode_scheduler.store.crypto import KEY_FILE_NAME, generate_key
from enode_scheduler.store.schema import price_slots_table, users_table

from .conftest import START

TOKENS = UserTokens("clear-access-token", "clear-refresh-token", START)


def settings(url: str, *keys: str) -> DatabaseSettings:
    return DatabaseSettings(url=url, auto_migrate=True, token_keys=tuple(map(SecretStr, keys)))


async def test_tokens_are_not_readable_in_the_raw_row(empty_db_url: str, tmp_path: Path) -> None:
    async with open_store(settings(empty_db_url, generate_key()), state_dir=tmp_path) as store:
        await store.tokens.save_tokens("u1", TOKENS)
        async with store.engine.connect() as conn:
            row = (await conn.execute(select(users_table))).one()
        raw = " ".join(str(value) for value in row)
        assert "clear-access-token" not in raw
        assert "clear-refresh-token" not in raw
        assert row.access_token_enc.startswith("gAAAAA")  # a Fernet token
        assert await store.tokens.get_tokens("u1") == TOKENS


async def test_rotation_with_two_keys(empty_db_url: str, tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    async with open_store(settings(empty_db_url, old), state_dir=tmp_path) as store:
        await store.tokens.save_tokens("u1", TOKENS)
    async with open_store(settings(empty_db_url, new, old), state_dir=tmp_path) as store:
        assert await store.tokens.get_tokens("u1") == TOKENS  # old key still decrypts
        await store.tokens.save_tokens("u2", TOKENS)  # encrypted with the new key
    async with open_store(settings(empty_db_url, new), state_dir=tmp_path) as store:
        assert await store.tokens.get_tokens("u2") == TOKENS
        with pytest.raises(TokenDecryptError):
            await store.tokens.get_tokens("u1")


async def test_generated_key_is_private_and_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    async with open_store(settings(url), state_dir=tmp_path) as store:
        await store.tokens.save_tokens("u1", TOKENS)
    key_file = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    async with open_store(settings(url), state_dir=tmp_path) as store:
        assert await store.tokens.get_tokens("u1") == TOKENS


async def test_default_database_is_a_file_in_the_state_dir(tmp_path: Path) -> None:
    async with open_store(DatabaseSettings(auto_migrate=True), state_dir=tmp_path) as store:
        assert store.dialect == "sqlite"
        async with store.engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert (mode, fks) == ("wal", 1)
    assert (tmp_path / "enode-scheduler.db").is_file()


async def test_outdated_schema_is_refused_with_the_fix(empty_db_url: str, tmp_path: Path) -> None:
    with pytest.raises(SchemaOutdated, match=r"enode-scheduler db upgrade"):
        async with open_store(DatabaseSettings(url=empty_db_url), state_dir=tmp_path):
            pass
    async with open_store(settings(empty_db_url), state_dir=tmp_path):
        pass  # auto_migrate upgraded it
    async with open_store(DatabaseSettings(url=empty_db_url), state_dir=tmp_path) as store:
        assert await store.users.list_users() == []


async def test_unique_zone_and_start_holds(empty_db_url: str, tmp_path: Path) -> None:
    row = {
        "zone": "NO2",
        "start": START,
        "end": START + timedelta(hours=1),
        "price_per_kwh": 1.0,
        "provisional": False,
    }
    async with open_store(settings(empty_db_url), state_dir=tmp_path) as store:
        async with store.engine.begin() as conn:
            await conn.execute(insert(price_slots_table), [row])
        with pytest.raises(IntegrityError):
            async with store.engine.begin() as conn:
                await conn.execute(insert(price_slots_table), [row])


async def test_datetimes_come_back_aware_utc(empty_db_url: str, tmp_path: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    async with open_store(settings(empty_db_url), state_dir=tmp_path) as store:
        await store.tokens.save_tokens("u1", UserTokens("a", None, START.astimezone(plus_two)))
        tokens = await store.tokens.get_tokens("u1")
        assert tokens is not None
        assert tokens.expires_at == START
        assert tokens.expires_at.utcoffset() == timedelta(0)
        with pytest.raises(StoreError, match="naive datetime"):
            await store.tokens.save_tokens("u2", UserTokens("a", None, datetime(2026, 1, 1)))


async def test_replicas_auto_migrating_together_both_start(
    empty_db_url: str, tmp_path: Path
) -> None:
    async def start() -> list[str]:
        async with open_store(settings(empty_db_url), state_dir=tmp_path) as store:
            return [u.user_id for u in await store.users.list_users()]

    assert await asyncio.gather(start(), start(), start()) == [[], [], []]
