"""Contract: shard leases and replica heartbeats on every store (database time on SQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.records import ShardLease
from enode_scheduler.store import open_store


def held(leases: list[ShardLease]) -> list[int]:
    return [lease.shard for lease in leases]


async def test_claim_takes_free_shards_up_to_wanted(store: Any) -> None:
    mine = await store.shards.claim("a", wanted=3, total=8, ttl_s=60)
    assert held(mine) == [0, 1, 2]
    assert {(lease.holder, lease.epoch) for lease in mine} == {("a", 1)}
    rows = await store.shards.leases()
    assert held(rows) == list(range(8))  # every row exists after the first claim
    assert [row.holder for row in rows[3:]] == [None] * 5


async def test_renewing_keeps_the_epoch_and_extends_the_expiry(
    store: Any, clock: FakeClock
) -> None:
    first = await store.shards.claim("a", wanted=2, total=4, ttl_s=60)
    await clock.advance(10)
    again = await store.shards.claim("a", wanted=2, total=4, ttl_s=120)
    assert held(again) == held(first)
    assert [lease.epoch for lease in again] == [1, 1]
    assert all(b.expires_at > a.expires_at for a, b in zip(first, again, strict=True))


async def test_another_holders_unexpired_shard_is_never_taken(store: Any) -> None:
    await store.shards.claim("a", wanted=3, total=4, ttl_s=60)
    other = await store.shards.claim("b", wanted=4, total=4, ttl_s=60)
    assert held(other) == [3]  # only the free one
    assert held(await store.shards.claim("a", wanted=4, total=4, ttl_s=60)) == [0, 1, 2]


async def test_surplus_is_released_and_taken_by_another_with_a_higher_epoch(store: Any) -> None:
    await store.shards.claim("a", wanted=4, total=4, ttl_s=60)
    kept = await store.shards.claim("a", wanted=2, total=4, ttl_s=60)
    assert held(kept) == [0, 1]
    rows = await store.shards.leases()
    assert [(r.holder, r.epoch) for r in rows[2:]] == [(None, 1), (None, 1)]
    taken = await store.shards.claim("b", wanted=2, total=4, ttl_s=60)
    assert [(lease.shard, lease.holder, lease.epoch) for lease in taken] == [
        (2, "b", 2),
        (3, "b", 2),
    ]


async def test_expired_shards_are_taken_over_with_a_higher_epoch(store: Any) -> None:
    await store.shards.claim("a", wanted=2, total=2, ttl_s=0)  # expires at once
    taken = await store.shards.claim("b", wanted=2, total=2, ttl_s=60)
    assert [(lease.holder, lease.epoch) for lease in taken] == [("b", 2), ("b", 2)]
    # The old holder's renewal finds nothing of its own and nothing free.
    assert await store.shards.claim("a", wanted=2, total=2, ttl_s=60) == []


async def test_release_frees_shards_and_keeps_their_epochs(store: Any) -> None:
    await store.shards.claim("a", wanted=3, total=3, ttl_s=60)
    await store.shards.release("b")  # not b's: nothing happens
    assert [r.holder for r in await store.shards.leases()] == ["a", "a", "a"]
    await store.shards.release("a", [1])
    assert [r.holder for r in await store.shards.leases()] == ["a", None, "a"]
    await store.shards.release("a")
    rows = await store.shards.leases()
    assert [(r.holder, r.epoch) for r in rows] == [(None, 1)] * 3
    again = await store.shards.claim("a", wanted=3, total=3, ttl_s=60)
    assert [lease.epoch for lease in again] == [2, 2, 2]


async def test_shards_beyond_the_total_are_left_alone(store: Any) -> None:
    await store.shards.claim("a", wanted=4, total=4, ttl_s=60)
    assert held(await store.shards.claim("a", wanted=2, total=2, ttl_s=60)) == [0, 1]
    assert [r.holder for r in await store.shards.leases()] == ["a", "a", "a", "a"]


async def test_heartbeats_list_live_replicas_by_holder(store: Any) -> None:
    await store.shards.heartbeat("b", ttl_s=60, shards_owned=3, cars=10)
    await store.shards.heartbeat("a", ttl_s=60, shards_owned=1, cars=2)
    await store.shards.heartbeat("gone", ttl_s=0, shards_owned=0, cars=0)
    live = await store.shards.replicas()
    assert [(r.holder, r.shards_owned, r.cars) for r in live] == [("a", 1, 2), ("b", 3, 10)]
    assert all(r.expires_at > r.heartbeat_at for r in live)
    assert [r.holder for r in await store.shards.replicas(live_only=False)] == ["a", "b", "gone"]


async def test_a_second_heartbeat_keeps_started_at(store: Any, clock: FakeClock) -> None:
    await store.shards.heartbeat("a", ttl_s=60, shards_owned=0, cars=0)
    (first,) = await store.shards.replicas()
    await clock.advance(5)
    await asyncio.sleep(0.01)  # database time moves on its own
    await store.shards.heartbeat("a", ttl_s=60, shards_owned=4, cars=9)
    (second,) = await store.shards.replicas()
    assert second.started_at == first.started_at
    assert second.heartbeat_at > first.heartbeat_at
    assert (second.shards_owned, second.cars) == (4, 9)


async def test_releasing_everything_leaves_the_live_list(store: Any) -> None:
    await store.shards.heartbeat("a", ttl_s=60, shards_owned=2, cars=0)
    await store.shards.heartbeat("b", ttl_s=60, shards_owned=2, cars=0)
    await store.shards.release("a")
    assert [r.holder for r in await store.shards.replicas()] == ["b"]


async def test_concurrent_claims_never_give_a_shard_to_two_holders(
    empty_db_url: str, tmp_path: Path
) -> None:
    settings = DatabaseSettings(url=empty_db_url, auto_migrate=True)
    async with (
        open_store(settings, state_dir=tmp_path) as one,
        open_store(settings, state_dir=tmp_path) as two,
    ):
        for _ in range(3):
            claims = await asyncio.gather(
                *(
                    s.shards.claim(f"h{i}", wanted=40, total=64, ttl_s=30)
                    for i, s in enumerate([one, two, one, two])
                )
            )
            owners: dict[int, str] = {}
            for leases in claims:
                for lease in leases:
                    assert owners.setdefault(lease.shard, lease.holder) == lease.holder
            rows = await one.shards.leases()
            assert {r.shard: r.holder for r in rows if r.holder is not None} == owners
            assert len(owners) == 64
        assert all(r.epoch == 1 for r in rows)
