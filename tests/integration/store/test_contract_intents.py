"""Contract: command intents (unique keys, fencing) and leases on every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.exceptions import StaleEpoch, StoreError
from enode_scheduler.ports import LEADER_LEASE
from enode_scheduler.records import ChargeAction, CommandIntent, IntentStatus

from .conftest import START


def intent(key: str, vehicle_id: str = "v1", *, epoch: int = 1) -> CommandIntent:
    return CommandIntent(key, vehicle_id, "u1", ChargeAction.START, "window opens", epoch)


async def test_a_key_is_written_once(store: Any) -> None:
    lease = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    (written,) = await store.intents.record_sends(
        [intent("v1:start:1")], epoch=lease.epoch, at=START
    )
    assert written.intent_id is not None
    assert written.created_at == START
    # Same key again, in a later batch or twice in one: nothing more is written or returned.
    again = [intent("v1:start:1", "v2"), intent("v2:start:1", "v2"), intent("v2:start:1", "v3")]
    (only,) = await store.intents.record_sends(again, epoch=lease.epoch, at=START)
    assert (only.key, only.vehicle_id) == ("v2:start:1", "v2")
    assert await store.intents.in_flight(["v1", "v2", "v3"]) == {"v1": written, "v2": only}


async def test_lifecycle_sent_verified_failed(store: Any, clock: FakeClock) -> None:
    lease = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    await store.intents.record_sends([intent("k1", epoch=lease.epoch)], epoch=lease.epoch, at=START)
    (sent,) = (await store.intents.in_flight(["v1"])).values()
    assert (sent.status, sent.attempts, sent.sent_at) == (IntentStatus.SENT, 1, START)
    await store.intents.record_outcomes(["k1"], {}, at=START + timedelta(minutes=1))
    assert await store.intents.in_flight(["v1"]) == {}
    await clock.advance(120)
    await store.intents.record_sends(
        [intent("k2", epoch=lease.epoch)], epoch=lease.epoch, at=clock.now()
    )
    await store.intents.mark_failed("k2", error="EnodeBadRequest", at=clock.now())
    assert await store.intents.in_flight(["v1"]) == {}
    history = await store.intents.history("v1", since=START)
    assert [(i.key, i.status) for i in history] == [
        ("k1", IntentStatus.VERIFIED),
        ("k2", IntentStatus.FAILED),
    ]
    assert history[1].error == "EnodeBadRequest"
    assert [i.key for i in await store.intents.history("v1", since=clock.now())] == ["k2"]
    with pytest.raises(StoreError):
        await store.intents.mark_failed("unknown", error="EnodeBadRequest", at=clock.now())


async def test_stale_epoch_is_refused(store: Any) -> None:
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k1")], epoch=1, at=START)  # no leader: only 0
    first = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=0)
    second = await store.leases.acquire(LEADER_LEASE, holder="b", ttl_s=60)
    assert (first.epoch, second.epoch) == (1, 2)
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k1")], epoch=first.epoch, at=START)
    assert await store.intents.history("v1", since=START) == []
    (sent,) = await store.intents.record_sends([intent("k1")], epoch=second.epoch, at=START)
    assert (sent.key, sent.epoch) == ("k1", second.epoch)


async def test_epoch_zero_is_the_leader_until_a_lease_is_taken(store: Any) -> None:
    (sent,) = await store.intents.record_sends([intent("k1")], epoch=0, at=START)
    assert sent.epoch == 0
    await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k2")], epoch=0, at=START)


async def test_only_the_leader_lease_fences(store: Any) -> None:
    lease = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    await store.leases.acquire("other", holder="b", ttl_s=0)
    other = await store.leases.acquire("other", holder="c", ttl_s=60)
    assert (lease.epoch, other.epoch) == (1, 2)
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k1")], epoch=other.epoch, at=START)
    (sent,) = await store.intents.record_sends([intent("k1")], epoch=lease.epoch, at=START)
    assert sent.epoch == lease.epoch


async def test_lease_acquire_renew_refuse(store: Any) -> None:
    lease = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    assert (lease.holder, lease.epoch) == ("a", 1)
    assert await store.leases.acquire(LEADER_LEASE, holder="b", ttl_s=60) is None
    renewed = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=120)
    assert renewed.epoch == 1
    assert renewed.expires_at > lease.expires_at
    assert await store.leases.current(LEADER_LEASE) == renewed
    assert await store.leases.current("other") is None


async def test_lease_expiry_takeover_and_release(store: Any) -> None:
    await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=0)  # expires at once
    assert await store.leases.current(LEADER_LEASE) is None
    taken = await store.leases.acquire(LEADER_LEASE, holder="b", ttl_s=60)
    assert (taken.holder, taken.epoch) == ("b", 2)
    stale = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    assert stale is None
    await store.leases.release(taken)
    assert await store.leases.current(LEADER_LEASE) is None
    again = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    assert again.epoch == 3
    await store.leases.release(taken)  # an old holder's release leaves the new lease alone
    assert await store.leases.current(LEADER_LEASE) == again


async def test_record_sends_writes_a_batch_once_and_only_for_the_leader(store: Any) -> None:
    batch = [intent("k1", "v1"), intent("k2", "v2")]
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends(batch, epoch=1, at=START)  # no leader yet
    assert await store.intents.in_flight(["v1", "v2"]) == {}
    lease = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=0)
    written = await store.intents.record_sends(batch, epoch=lease.epoch, at=START)
    assert sorted((i.key, i.status, i.epoch, i.attempts, i.sent_at) for i in written) == [
        ("k1", IntentStatus.SENT, lease.epoch, 1, START),
        ("k2", IntentStatus.SENT, lease.epoch, 1, START),
    ]
    # A key already written is skipped, the new one in the same batch still goes in.
    again = await store.intents.record_sends(
        [intent("k2", "v2"), intent("k3", "v3")], epoch=lease.epoch, at=START
    )
    assert [i.key for i in again] == ["k3"]
    flying = await store.intents.in_flight(["v1", "v2", "v3"])
    assert {v: i.key for v, i in flying.items()} == {"v1": "k1", "v2": "k2", "v3": "k3"}
    newer = await store.leases.acquire(LEADER_LEASE, holder="b", ttl_s=60)
    assert newer.epoch == lease.epoch + 1
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k4", "v4")], epoch=lease.epoch, at=START)
    assert await store.intents.in_flight(["v4"]) == {}


async def test_outcomes_of_many_intents_are_recorded_at_once(store: Any) -> None:
    lease = await store.leases.acquire(LEADER_LEASE, holder="a", ttl_s=60)
    batch = [intent(f"k{i}", f"v{i}") for i in range(4)]
    await store.intents.record_sends(batch, epoch=lease.epoch, at=START)
    later = START + timedelta(minutes=1)
    await store.intents.record_outcomes(
        ["k0", "k1", "gone"], {"k2": "not_confirmed", "k3": "abandoned_unsent"}, at=later
    )
    assert await store.intents.in_flight([f"v{i}" for i in range(4)]) == {}
    settled = [(await store.intents.history(f"v{i}", since=START))[0] for i in range(4)]
    assert [(i.status, i.error, i.verified_at) for i in settled] == [
        (IntentStatus.VERIFIED, None, later),
        (IntentStatus.VERIFIED, None, later),
        (IntentStatus.FAILED, "not_confirmed", later),
        (IntentStatus.FAILED, "abandoned_unsent", later),
    ]
    await store.intents.record_outcomes([], {}, at=later)
