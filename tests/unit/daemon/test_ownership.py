"""Shard ownership: fair shares, rebalancing, takeover, and no lease used past its local end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from enode_scheduler.clock import FakeClock
from enode_scheduler.daemon.ownership import ShardOwnership
from enode_scheduler.exceptions import ConfigError, LostLeadership, StoreError
from enode_scheduler.records import ShardLease
from enode_scheduler.testing import InMemoryShardStore

TTL_S = 30.0


class Mono:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def replica(
    store: InMemoryShardStore, holder: str, *, total: int = 8, mono: Mono | None = None,
    claim_all: bool = False,
) -> ShardOwnership:  # fmt: skip
    return ShardOwnership(
        store, holder=holder, ttl_s=TTL_S, total=total, claim_all=claim_all,
        monotonic=mono or Mono(),
    )  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, tzinfo=UTC))


async def test_a_lease_is_not_used_past_its_local_deadline(clock: FakeClock) -> None:
    mono = Mono()
    one = replica(InMemoryShardStore(clock=clock), "a", mono=mono)
    await one.renew()
    assert one.epoch_for(0) == 1
    one.check_may_send(0)
    # Paused (SIGSTOP, a VM freeze) past TTL less the margin: no renewal could have happened.
    mono.t += TTL_S - one.margin_s
    assert one.epoch_for(0) is None
    assert one.owned == frozenset()
    with pytest.raises(LostLeadership) as lost:
        one.check_may_send(3)
    assert lost.value.shards == (3,)
    # Renewed in time (the database still has them): owning again with the same epochs.
    await one.renew()
    assert one.epochs() == dict.fromkeys(range(8), 1)
    one.check_may_send(0)


async def test_a_joining_replica_gets_its_share_within_one_renewal(clock: FakeClock) -> None:
    store = InMemoryShardStore(clock=clock)
    a, b = replica(store, "a"), replica(store, "b")
    with capture_logs() as logs:
        assert (await a.renew()).gained == tuple(range(8))
        # b joins: nothing is free, so it takes nothing yet (never another's unexpired shard).
        assert not await b.renew()
        # a sees b live and gives up its surplus; b takes it at its next renewal.
        assert (await a.renew()).lost == (4, 5, 6, 7)
        assert (await b.renew()).gained == (4, 5, 6, 7)
    assert a.owned == {0, 1, 2, 3}
    assert b.epochs() == dict.fromkeys((4, 5, 6, 7), 2)  # a new holder: a higher epoch
    assert a.coordinator
    assert not b.coordinator
    gained = [e for e in logs if e["event"] == "shards_gained"]
    lost = [e for e in logs if e["event"] == "shards_lost"]
    assert [(e["holder"], e["count"], e["owned"]) for e in gained] == [("a", 8, 8), ("b", 4, 4)]
    assert [(e["holder"], e["shards"], e["owned"]) for e in lost] == [("a", [4, 5, 6, 7], 4)]


async def test_a_dead_replicas_shards_are_taken_over_after_its_ttl(clock: FakeClock) -> None:
    store = InMemoryShardStore(clock=clock)
    a, b = replica(store, "a"), replica(store, "b")
    await a.renew()
    await b.renew()
    await a.renew()
    await b.renew()
    # a stops renewing (kill -9): b, renewing every TTL/3, cannot take a's shards before they
    # expire, and takes them all once they have (a is no longer live: b's share is everything).
    changes = []
    for _ in range(3):
        await clock.advance(TTL_S / 3)
        changes.append(await b.renew())
    assert [c.gained for c in changes] == [(), (), (0, 1, 2, 3)]
    assert b.coordinator
    assert b.epochs() == {**dict.fromkeys((0, 1, 2, 3), 2), **dict.fromkeys((4, 5, 6, 7), 2)}


class Refusing(InMemoryShardStore):
    async def claim(
        self, holder: str, *, wanted: int, total: int, ttl_s: float
    ) -> list[ShardLease]:
        raise StoreError("database error: ConnectionRefusedError")


async def test_leases_that_cannot_be_renewed_end_at_their_local_deadline(
    clock: FakeClock,
) -> None:
    store = InMemoryShardStore(clock=clock)
    mono = Mono()
    one = replica(store, "a", mono=mono)
    await one.renew()
    one._store = Refusing(clock=clock)
    # Still safe to use until the local deadline: the database's expiry is later.
    assert not await one.renew()
    assert not one.reachable
    assert one.epoch_for(0) == 1
    mono.t += TTL_S - one.margin_s
    with capture_logs() as logs:
        assert (await one.renew()).lost == tuple(range(8))
    assert one.leases == {}
    assert [e["reason"] for e in logs if e["event"] == "shards_lost"] == ["renewal"]
    # Only the database can expire them: the rows still name the old holder.
    assert {lease.holder for lease in await store.leases()} == {"a"}
    # The database is back after its expiry (a failover): the shards are claimed again with
    # higher epochs, so nothing recorded with the old ones can pass the fence.
    one._store = store
    await clock.advance(TTL_S)
    assert (await one.renew()).gained == tuple(range(8))
    assert one.reachable
    assert set(one.epochs().values()) == {2}


async def test_a_fenced_shard_is_dropped_alone(clock: FakeClock) -> None:
    one = replica(InMemoryShardStore(clock=clock), "a")
    await one.renew()
    assert one.lost((2,)).lost == (2,)
    assert one.owned == frozenset(range(8)) - {2}
    with pytest.raises(LostLeadership):
        one.check_may_send(2)
    # The guard fences a command by its user's shard (the reconciler's rule).
    one.key_of = {"alice": 2, "bob": 3}.__getitem__
    with pytest.raises(LostLeadership):
        one.guard_user("alice")
    one.guard_user("bob")
    assert one.owns_user("bob")
    assert not one.owns_user("alice")


async def test_release_gives_every_shard_back_and_leaves(clock: FakeClock) -> None:
    store = InMemoryShardStore(clock=clock)
    a, b = replica(store, "a"), replica(store, "b")
    await a.renew()
    await b.renew()
    await a.release()
    assert a.owned == frozenset()
    assert [r.holder for r in await store.replicas()] == ["b"]
    # b's next renewal takes the whole fleet at once (a is not live: b's share is everything).
    assert (await b.renew()).gained == tuple(range(8))


async def test_a_replica_refuses_to_start_beside_one_with_another_shard_count(
    clock: FakeClock,
) -> None:
    store = InMemoryShardStore(clock=clock)
    running = replica(store, "a", total=8)
    await running.renew()
    # The same value, and a row no daemon wrote (no count), are no reason to refuse.
    await replica(store, "same", total=8).check_peers()
    await store.heartbeat("tool", ttl_s=TTL_S, shards_owned=0, cars=0)
    await replica(store, "tool-peer", total=8).check_peers()
    newcomer = replica(store, "b", total=16)
    with pytest.raises(ConfigError) as refused:
        await newcomer.check_peers()
    (line,) = refused.value.problems
    assert line.startswith("scheduler.shards = 16, but the live replica a runs with 8")
    assert all(lease.holder != "b" for lease in await store.leases())  # it claimed nothing
    # Once the other has gone (its heartbeat expired), the new count may start.
    await clock.advance(TTL_S + 1)
    await newcomer.check_peers()


async def test_replicas_started_together_with_different_counts_say_so_once(
    clock: FakeClock,
) -> None:
    store = InMemoryShardStore(clock=clock)
    a, b = replica(store, "a", total=8), replica(store, "b", total=16)
    with capture_logs() as logs:
        await a.check_peers()
        await b.check_peers()  # neither had a heartbeat yet: both pass
        for _ in range(3):
            await a.renew()
            await b.renew()
    said = [(e["holder"], e["replicas"]) for e in logs if e["event"] == "shards_setting_differs"]
    assert sorted(said) == [("a", ["b"]), ("b", ["a"])]  # each once, in three renewals
