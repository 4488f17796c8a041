"""Contract: charging locations, a plan's location and the daemon's presence verdict."""

from __future__ import annotations

import dataclasses
from typing import Any

from enode_scheduler.clock import FakeClock
from enode_scheduler.records import ChargingLocation, Presence, UserRecord

from .conftest import START
from .test_contract_plans import repeating_plan

HOME = ChargingLocation("loc-home", "u1", name="Home", latitude=59.9, longitude=10.7)
WORK = ChargingLocation("loc-work", "u1", name="Work", latitude=59.8, longitude=10.8)


async def test_locations_are_replaced_per_user_and_listed_by_name(store: Any) -> None:
    other = ChargingLocation("loc-x", "u2", name="Cabin")
    await store.locations.replace_locations("u2", [other])
    await store.locations.replace_locations("u1", [WORK, HOME])
    assert await store.locations.list_locations("u1") == [HOME, WORK]
    await store.locations.replace_locations("u1", [WORK])
    assert await store.locations.list_locations("u1") == [WORK]
    assert await store.locations.list_locations("u2") == [other]


async def test_put_and_delete_one_location(store: Any) -> None:
    await store.locations.put_location(HOME)
    renamed = dataclasses.replace(HOME, name="House")
    await store.locations.put_location(renamed)
    assert await store.locations.list_locations("u1") == [renamed]
    assert await store.locations.delete_location("loc-home") is True
    assert await store.locations.delete_location("loc-home") is False
    assert await store.locations.list_locations("u1") == []


async def test_deleting_the_user_removes_their_locations(store: Any) -> None:
    await store.users.upsert_user(UserRecord("u1"))
    await store.locations.put_location(HOME)
    assert await store.users.delete_user("u1") is True
    assert await store.locations.list_locations("u1") == []


async def test_plan_keeps_its_location_and_presence_is_not_an_edit(
    store: Any, clock: FakeClock
) -> None:
    stored = await store.plans.put_plan(
        dataclasses.replace(repeating_plan(), location_id="loc-home")
    )
    assert stored.location_id == "loc-home"
    assert stored.presence is None
    assert stored.shown_status == "active"
    await clock.advance(60)
    await store.plans.set_presences({"v1": Presence.AWAY, "v-unknown": Presence.AWAY})
    got = await store.plans.get_plan("v1")
    assert got.presence is Presence.AWAY
    assert got.shown_status == "away"
    # Not an edit: the daemon's change detection must not replan because of it.
    assert got.updated_at == START
    # An edit forgets the verdict (the location may have changed with it).
    edited = await store.plans.put_plan(dataclasses.replace(got, location_id="loc-work"))
    assert (edited.location_id, edited.presence) == ("loc-work", None)


async def test_plan_without_location_shows_no_location(store: Any) -> None:
    stored = await store.plans.put_plan(repeating_plan())
    assert stored.location_id is None
    assert stored.shown_status == "no_location"
