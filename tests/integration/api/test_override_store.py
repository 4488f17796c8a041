"""The OverrideStore contract on the in-memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enode_scheduler.records import OverrideKind, OverrideRecord, UserRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import NOW, reading


@pytest.fixture
async def seeded(api: Api) -> Api:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1"))
    await api.deps.vehicles.save_readings([reading("veh-1"), reading("veh-2")])
    return api


async def test_put_replaces_get_and_clear(seeded: Api) -> None:
    store = seeded.deps.overrides
    pause = OverrideRecord("veh-1", OverrideKind.PAUSE, NOW, until=NOW + timedelta(hours=3))
    boost = OverrideRecord("veh-1", OverrideKind.CHARGE_NOW, NOW, until_soc_percent=80.0)
    await store.put_override(pause)
    assert await store.get_override("veh-1") == pause
    await store.put_override(boost)
    assert await store.get_override("veh-1") == boost
    assert await store.get_overrides(["veh-1", "veh-2", "nope"]) == {"veh-1": boost}
    assert await store.clear_override("veh-1") is True
    assert await store.clear_override("veh-1") is False
    assert await store.get_override("veh-1") is None


async def test_deleting_the_user_removes_their_overrides(seeded: Api) -> None:
    pause = OverrideRecord("veh-2", OverrideKind.PAUSE, NOW, until=NOW + timedelta(hours=1))
    await seeded.deps.overrides.put_override(pause)
    assert await seeded.deps.users.delete_user("user-1") is True
    assert await seeded.deps.overrides.get_override("veh-2") is None
