"""Random sequences of site operations: the SQL store answers exactly like the in-memory twin,
and no location is ever in two sites."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from enode_scheduler.clock import FakeClock
from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.records import SiteLocation, UserRecord
from enode_scheduler.store.schema import Base
from enode_scheduler.testing import InMemoryStore

SITES = st.sampled_from(["a", "b"])
# Few locations, so that sites compete for them; "ghost" is a user that never exists.
LOCATIONS = st.sampled_from(
    [SiteLocation("u1", "l1"), SiteLocation("u2", "l1"), SiteLocation("u1", "l2"),
     SiteLocation("ghost", "l1")]
)  # fmt: skip
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), SITES, st.sampled_from([7.4, 11.0, 0.0])),
        st.tuples(st.just("delete"), SITES),
        st.tuples(st.just("attach"), SITES, LOCATIONS),
        st.tuples(st.just("detach"), SITES, LOCATIONS),
        st.tuples(st.just("delete_user"), st.sampled_from(["u1", "u2", "ghost"])),
    ),
    min_size=3,
    max_size=25,
)


async def _apply(store: Any, operation: tuple[Any, ...]) -> object:
    """What the operation answered: its result, or the error's type and message."""
    kind, *args = operation
    try:
        if kind == "put":
            return await store.sites.put_site(args[0], max_kw=args[1])
        if kind == "delete":
            return await store.sites.delete_site(args[0])
        if kind == "attach":
            return await store.sites.attach_location(args[0], args[1])
        if kind == "detach":
            return await store.sites.detach_location(args[0], args[1])
        return await store.users.delete_user(args[0])
    except InvalidInput as exc:
        return (type(exc).__name__, str(exc))


async def _reset(store: Any) -> None:
    async with store.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=OPERATIONS)
# Paths a run may not draw: one location for two sites; a user's removal reaching into a site.
@example([("attach", "a", SiteLocation("u1", "l1")), ("attach", "b", SiteLocation("u1", "l1"))])
@example([("attach", "a", SiteLocation("u1", "l1")), ("delete_user", "u1")])
async def test_sql_store_matches_the_twin(
    store: Any, clock: FakeClock, operations: list[tuple[Any, ...]]
) -> None:
    await _reset(store)
    twin = InMemoryStore.create(clock=clock)
    for each in (store, twin):
        for user_id in ("u1", "u2"):
            await each.users.upsert_user(UserRecord(user_id))
        for name in ("a", "b"):  # most operations then act on a site that exists
            await each.sites.put_site(name, max_kw=11.0)
    for operation in operations:
        assert await _apply(store, operation) == await _apply(twin, operation), operation
        sites = await store.sites.list_sites()
        assert sites == await twin.sites.list_sites(), operation
        placed = [location for site in sites for location in site.locations]
        assert len(placed) == len(set(placed))
        await clock.advance(1)  # so that updated_at shows which operations changed a site
