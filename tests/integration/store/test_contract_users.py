"""Contract: users, tokens and vehicles behave the same in memory, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import (
    PlanRecord,
    ScheduleRecord,
    UserRecord,
    UserTokens,
    VehicleReading,
)

from .conftest import START


def reading(
    vehicle_id: str, user_id: str = "u1", *, minutes: int = 0, soc: float = 50.0
) -> VehicleReading:
    return VehicleReading(
        vehicle_id=vehicle_id,
        user_id=user_id,
        vendor="TESLA",
        last_seen=START + timedelta(minutes=minutes),
        is_reachable=True,
        soc_percent=soc,
        is_plugged_in=True,
        is_charging=False,
        charge_rate_kw=None,
        battery_capacity_kwh=75.0,
        charge_limit_percent=90.0,
        charging_reasons=("DEFAULT",),
        smart_charging_enabled=False,
    )


async def test_upsert_keeps_relink_state_and_changes_timezone(store: Any) -> None:
    created = await store.users.upsert_user(UserRecord("u1", timezone="Europe/Oslo"))
    assert created == UserRecord("u1", timezone="Europe/Oslo")
    await store.tokens.mark_needs_relink("u1", reason="refresh refused")
    updated = await store.users.upsert_user(UserRecord("u1", timezone="Europe/Berlin"))
    assert updated.timezone == "Europe/Berlin"
    assert (updated.needs_relink, updated.relink_reason) == (True, "refresh refused")
    assert await store.users.get_user("nobody") is None
    await store.users.upsert_user(UserRecord("u0"))
    assert [u.user_id for u in await store.users.list_users()] == ["u0", "u1"]


async def test_tokens_round_trip_and_clear_relink(store: Any) -> None:
    tokens = UserTokens("access-1", "refresh-1", START + timedelta(hours=1))
    await store.tokens.mark_needs_relink("u1", reason="revoked")
    await store.tokens.save_tokens("u1", tokens)
    assert await store.tokens.get_tokens("u1") == tokens
    user = await store.users.get_user("u1")
    assert user == UserRecord("u1", linked=True)
    await store.tokens.save_tokens("u1", UserTokens("access-2", None, START))
    assert await store.tokens.get_tokens("u1") == UserTokens("access-2", None, START)
    assert await store.tokens.get_tokens("u2") is None


async def test_readings_batch_latest_wins_and_older_is_ignored(store: Any) -> None:
    await store.vehicles.save_readings(
        [reading("v1", minutes=0, soc=40), reading("v2", "u2"), reading("v1", minutes=5, soc=45)]
    )
    await store.vehicles.save_readings([reading("v1", minutes=1, soc=41)])  # older than stored
    latest = await store.vehicles.latest_readings()
    assert latest["v1"] == reading("v1", minutes=5, soc=45)
    assert set(latest) == {"v1", "v2"}
    assert await store.vehicles.latest_readings(["v2", "v9"]) == {"v2": reading("v2", "u2")}
    assert await store.vehicles.list_vehicle_ids("u1") == ["v1"]
    assert await store.vehicles.list_vehicle_ids() == ["v1", "v2"]
    assert (await store.users.get_user("u2")) is not None  # created on first sight


async def test_many_readings_in_one_batch(store: Any) -> None:
    await store.vehicles.save_readings([reading(f"v{i:05d}", f"u{i % 7}") for i in range(2500)])
    assert len(await store.vehicles.latest_readings()) == 2500
    assert len(await store.users.list_users()) == 7


async def test_delete_user_removes_everything_of_theirs(store: Any) -> None:
    await store.tokens.save_tokens("u1", UserTokens("a", "r", START))
    await store.vehicles.save_readings([reading("v1"), reading("v2", "u2")])
    await store.plans.put_plan(PlanRecord("v1", "u1", 80, deadline=START))
    await store.plans.put_plan(PlanRecord("v3", "u1", 80, deadline=START))
    schedule = Schedule(True, (), 0.0, 0.0, 0, 50.0)
    await store.schedules.save_schedules(
        [ScheduleRecord(vehicle_id, schedule, START, START) for vehicle_id in ("v1", "v2", "v3")]
    )
    assert await store.users.delete_user("u1") is True
    assert await store.users.delete_user("u1") is False
    assert await store.tokens.get_tokens("u1") is None
    assert set(await store.vehicles.latest_readings()) == {"v2"}
    assert await store.plans.list_plans() == []
    assert set(await store.schedules.get_schedules(["v1", "v2", "v3"])) == {"v2"}
