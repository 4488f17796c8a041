"""Contract: sites behave the same in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.exceptions import InvalidInput, LocationTaken, NotFound
from enode_scheduler.records import SiteLocation, SiteRecord, UserRecord

from .conftest import START

GARAGE_A = SiteLocation("u1", "loc-a")
GARAGE_B = SiteLocation("u2", "loc-b")


async def _users(store: Any, *user_ids: str) -> None:
    for user_id in user_ids:
        await store.users.upsert_user(UserRecord(user_id))


async def test_put_creates_then_updates_the_cap(store: Any, clock: FakeClock) -> None:
    site, created = await store.sites.put_site("garage", max_kw=22.0)
    assert created is True
    assert site == SiteRecord("garage", 22.0, created_at=START, updated_at=START)
    await clock.advance(5 * 60)
    site, created = await store.sites.put_site("garage", max_kw=11.0)
    assert created is False
    assert (site.max_kw, site.created_at, site.updated_at) == (
        11.0,
        START,
        START + timedelta(minutes=5),
    )
    assert await store.sites.get_site("garage") == site
    assert await store.sites.get_site("nowhere") is None


async def test_list_is_sorted_with_each_sites_locations(store: Any) -> None:
    await _users(store, "u1", "u2", "u3")
    await store.sites.put_site("b-house", max_kw=11.0)
    await store.sites.put_site("a-garage", max_kw=22.0)
    await store.sites.attach_location("a-garage", GARAGE_B)
    await store.sites.attach_location("a-garage", GARAGE_A)
    await store.sites.attach_location("b-house", SiteLocation("u3", "home"))
    sites = await store.sites.list_sites()
    assert [(s.name, s.max_kw) for s in sites] == [("a-garage", 22.0), ("b-house", 11.0)]
    assert sites[0].locations == (GARAGE_A, GARAGE_B)  # sorted by user, then location
    assert sites[1].locations == (SiteLocation("u3", "home"),)


async def test_attach_is_idempotent_and_moves_updated_at(store: Any, clock: FakeClock) -> None:
    await _users(store, "u1")
    await store.sites.put_site("garage", max_kw=22.0)
    await clock.advance(1 * 60)
    site = await store.sites.attach_location("garage", GARAGE_A)
    assert site.locations == (GARAGE_A,)
    assert site.updated_at == START + timedelta(minutes=1)
    again = await store.sites.attach_location("garage", GARAGE_A)
    assert again.locations == (GARAGE_A,)
    # The same location id of another user is another location.
    await _users(store, "u2")
    both = await store.sites.attach_location("garage", SiteLocation("u2", "loc-a"))
    assert both.locations == (GARAGE_A, SiteLocation("u2", "loc-a"))


async def test_a_location_belongs_to_one_site_only(store: Any) -> None:
    await _users(store, "u1")
    await store.sites.put_site("garage", max_kw=22.0)
    await store.sites.put_site("house", max_kw=11.0)
    await store.sites.attach_location("garage", GARAGE_A)
    with pytest.raises(LocationTaken, match="already in site 'garage'") as caught:
        await store.sites.attach_location("house", GARAGE_A)
    assert caught.value.site == "garage"
    assert (await store.sites.get_site("house")).locations == ()
    assert (await store.sites.get_site("garage")).locations == (GARAGE_A,)


async def test_attach_refuses_unknown_site_and_unknown_user(store: Any) -> None:
    await _users(store, "u1")
    with pytest.raises(NotFound, match="site 'nowhere'"):
        await store.sites.attach_location("nowhere", GARAGE_A)
    await store.sites.put_site("garage", max_kw=22.0)
    with pytest.raises(NotFound, match="user 'ghost'"):
        await store.sites.attach_location("garage", SiteLocation("ghost", "loc"))
    assert (await store.sites.get_site("garage")).locations == ()
    assert await store.users.get_user("ghost") is None  # not created on the way


async def test_detach(store: Any, clock: FakeClock) -> None:
    await _users(store, "u1", "u2")
    await store.sites.put_site("garage", max_kw=22.0)
    await store.sites.attach_location("garage", GARAGE_A)
    await store.sites.attach_location("garage", GARAGE_B)
    await clock.advance(2 * 60)
    assert await store.sites.detach_location("garage", GARAGE_A) is True
    assert await store.sites.detach_location("garage", GARAGE_A) is False
    site = await store.sites.get_site("garage")
    assert site.locations == (GARAGE_B,)
    assert site.updated_at == START + timedelta(minutes=2)
    with pytest.raises(NotFound, match="site 'nowhere'"):
        await store.sites.detach_location("nowhere", GARAGE_B)
    # Detached, the location may join another site.
    await store.sites.put_site("house", max_kw=7.0)
    assert (await store.sites.attach_location("house", GARAGE_A)).locations == (GARAGE_A,)


async def test_deleting_a_site_frees_its_locations(store: Any) -> None:
    await _users(store, "u1")
    await store.sites.put_site("garage", max_kw=22.0)
    await store.sites.attach_location("garage", GARAGE_A)
    assert await store.sites.delete_site("garage") is True
    assert await store.sites.delete_site("garage") is False
    assert await store.sites.list_sites() == []
    await store.sites.put_site("garage", max_kw=22.0)
    assert (await store.sites.get_site("garage")).locations == ()
    await store.sites.put_site("house", max_kw=11.0)
    assert (await store.sites.attach_location("house", GARAGE_A)).locations == (GARAGE_A,)


async def test_deleting_a_user_detaches_their_locations(store: Any) -> None:
    await _users(store, "u1", "u2")
    await store.sites.put_site("garage", max_kw=22.0)
    await store.sites.attach_location("garage", GARAGE_A)
    await store.sites.attach_location("garage", GARAGE_B)
    assert await store.users.delete_user("u1") is True
    site = await store.sites.get_site("garage")
    assert site is not None
    assert site.locations == (GARAGE_B,)


@pytest.mark.parametrize(
    ("name", "max_kw", "message"),
    [
        pytest.param("garage", 0.0, "max_kw 0.0", id="zero"),
        pytest.param("garage", -3.0, "max_kw -3.0", id="negative"),
        pytest.param("garage", float("nan"), "max_kw nan", id="nan"),
        pytest.param("garage", float("inf"), "max_kw inf", id="inf"),
        pytest.param("", 11.0, "site name ''", id="empty-name"),
        pytest.param("a b", 11.0, "site name 'a b'", id="space"),
        pytest.param("x" * 65, 11.0, "site name 'xxx", id="long"),
        pytest.param("../etc", 11.0, "site name '../etc'", id="path"),
    ],
)
async def test_bad_site_is_refused(store: Any, name: str, max_kw: float, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.")):
        await store.sites.put_site(name, max_kw=max_kw)
    assert await store.sites.list_sites() == []


@pytest.mark.parametrize(
    ("location", "message"),
    [
        pytest.param(SiteLocation("u1", ""), "location id ''", id="empty-location"),
        pytest.param(SiteLocation("u1", "l" * 129), "location id 'lll", id="long-location"),
        pytest.param(SiteLocation("", "loc"), "user id ''", id="empty-user"),
        pytest.param(SiteLocation("u1", "a\nb"), "location id 'a\\\\nb'", id="newline"),
    ],
)
async def test_bad_location_is_refused(store: Any, location: SiteLocation, message: str) -> None:
    await _users(store, "u1")
    await store.sites.put_site("garage", max_kw=22.0)
    with pytest.raises(InvalidInput, match=message):
        await store.sites.attach_location("garage", location)
    assert (await store.sites.get_site("garage")).locations == ()
