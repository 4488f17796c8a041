"""Replicas must share their token keys: one whose keys cannot read the check value refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.exceptions import ConfigError
from enode_scheduler.store import open_store


async def test_a_replica_with_other_keys_refuses_to_start(
    empty_db_url: str, tmp_path: Path
) -> None:
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = DatabaseSettings(url=empty_db_url, auto_migrate=True, token_keys=[key_a])
    async with open_store(first, state_dir=tmp_path) as store:
        await store.key_check.verify(store.cipher)  # no tokens yet: the check value is written
    # Rotation (a new key first, the old one kept) still reads it.
    rotated = DatabaseSettings(url=empty_db_url, token_keys=[key_b, key_a])
    async with open_store(rotated, state_dir=tmp_path) as store:
        await store.key_check.verify(store.cipher)
    other = DatabaseSettings(url=empty_db_url, token_keys=[key_b])
    async with open_store(other, state_dir=tmp_path) as store:
        with pytest.raises(ConfigError, match=r"^database\.token_keys: no configured key"):
            await store.key_check.verify(store.cipher)
