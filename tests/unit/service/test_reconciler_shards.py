"""The reconciler acts only on the cars of the shards it owns; ownership moves load and drop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enode_scheduler.exceptions import LostLeadership
from enode_scheduler.planner import next_deadline, plan
from enode_scheduler.planner.models import Slot
from enode_scheduler.records import ChargeAction, CommandIntent, IntentStatus, SiteLocation
from enode_scheduler.service import Ports, Reconciler
from enode_scheduler.shards import shard_of
from tests.fakes import FakeCar
from tests.unit.service.test_reconciler import (
    SETTINGS,
    START,
    TOMORROW_7,
    ZONE,
    World,
    make_world,
)

TWO = SETTINGS.model_copy(update={"shards": 2})
# With two shards: u1 is in shard 1, u2 in shard 0 (checked below, so a hash change shows).
U1_SHARD, U2_SHARD = 1, 0


def test_the_users_are_in_different_shards() -> None:
    assert (shard_of("u1", 2), shard_of("u2", 2)) == (U1_SHARD, U2_SHARD)


async def two_cars() -> World:
    world = await make_world([FakeCar("v1", "u1"), FakeCar("v2", "u2")], settings=TWO)
    await world.add_plan("v1", target=80.0, deadline=TOMORROW_7)
    await world.add_plan("v2", target=80.0, deadline=TOMORROW_7)
    return world


async def test_only_the_cars_of_owned_shards_are_run() -> None:
    world = await two_cars()
    await world.rec.own({U1_SHARD: 1}, now=START)
    assert set(world.rec.cars) == {"v1"}
    assert world.rec.cars["v1"].shard == U1_SHARD
    await world.run(hours=20)
    commanded = {vid for _, vid, _ in world.enode.commands}
    assert commanded == {"v1"}
    sent = await world.stores.intents.history("v1", since=START)
    assert {(i.shard, i.epoch) for i in sent} == {(U1_SHARD, 1)}


async def test_gained_shards_load_their_cars_with_intents_in_flight_and_lost_ones_leave() -> None:
    world = await two_cars()
    rec = world.rec
    await rec.own({U1_SHARD: 1}, now=START)
    # Another replica sent a START for v2 before this one took shard 0 over.
    planted = world.stores.intents.plant(
        CommandIntent(
            "v2:start",
            "v2",
            "u2",
            ChargeAction.START,
            "window",
            1,
            status=IntentStatus.SENT,
            shard=U2_SHARD,
        )
    )
    later = START + timedelta(minutes=5)
    rec.cars["v1"].catch_up = False  # as after a step
    await rec.own({U1_SHARD: 1, U2_SHARD: 2}, now=later)
    assert set(rec.cars) == {"v1", "v2"}
    assert rec.cars["v2"].intent == planted  # verified, not sent again
    assert rec.cars["v2"].catch_up
    assert rec.cars["v2"].next_poll_at == later
    assert not rec.cars["v1"].catch_up  # kept as it was: its shard did not move
    await rec.own({U2_SHARD: 2}, now=later)
    assert set(rec.cars) == {"v2"}


async def test_a_shard_taken_again_with_a_new_epoch_is_reloaded() -> None:
    world = await two_cars()
    rec = world.rec
    await rec.own({U1_SHARD: 1}, now=START)
    rec.cars["v1"].catch_up = False
    await rec.own({U1_SHARD: 3}, now=START)  # someone else held it in between
    assert rec.cars["v1"].catch_up


async def test_a_stale_epoch_names_only_the_cars_shard() -> None:
    world = await two_cars()
    await world.rec.load(now=START)
    # The store moved shard 1 on (epoch 2); this process still believes epoch 1 for both.
    await world.stores.shards.release("me", [U1_SHARD])
    await world.stores.shards.claim("other", wanted=1, total=2, ttl_s=3600)
    with pytest.raises(LostLeadership) as lost:
        await world.run(hours=20)
    assert lost.value.shards == (U1_SHARD,)


async def test_users_at_one_site_share_the_sites_shard() -> None:
    world = await two_cars()
    stores = world.stores
    await stores.sites.put_site("yard", max_kw=11.0)
    await stores.sites.attach_location("yard", SiteLocation("u1", "home"))
    await stores.sites.attach_location("yard", SiteLocation("u2", "home"))
    ports = Ports(
        world.enode, stores.vehicles, stores.plans, stores.schedules, stores.intents,
        stores.prices, sites=stores.sites,
    )  # fmt: skip
    rec = Reconciler(
        ports, TWO, zone=ZONE, planner=plan, next_deadline=next_deadline,
        clock=world.clock,
    )  # fmt: skip
    site_shard = shard_of("site:yard", 2)
    await rec.own({site_shard: 1}, now=START)
    assert set(rec.cars) == {"v1", "v2"}
    assert rec.shard_of_user("u1") == rec.shard_of_user("u2") == site_shard
    await rec.own({1 - site_shard: 1}, now=START)
    assert rec.cars == {}


async def test_stored_slots_are_followed_without_fetching() -> None:
    world = await two_cars()
    rec = world.rec
    assert not await rec.follow_stored_slots(now=START)  # the first look only learns
    assert not await rec.follow_stored_slots(now=START)
    day = START + timedelta(days=3)
    extra = [Slot(day + timedelta(hours=h), day + timedelta(hours=h + 1), 0.5) for h in range(4)]
    await world.stores.prices.upsert_slots(ZONE, extra)
    assert await rec.follow_stored_slots(now=START)
    assert rec.next_wake(now=START) == START  # every car is due for a replan
