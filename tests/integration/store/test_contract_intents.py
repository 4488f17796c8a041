"""Contract: command intents (unique keys, fencing) and leases on every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.exceptions import StaleEpoch, StoreError
from enode_scheduler.records import ChargeAction, CommandIntent, IntentStatus

from .conftest import START


def intent(key: str, vehicle_id: str = "v1", *, epoch: int = 1) -> CommandIntent:
    return CommandIntent(key, vehicle_id, "u1", ChargeAction.START, "window opens", epoch)


async def test_a_key_is_written_once(store: Any) -> None:
    created = await store.intents.create_intent(intent("v1:start:1"))
    assert created is not None
    assert created.intent_id is not None
    assert created.created_at == START
    assert created.status is IntentStatus.PENDING
    assert await store.intents.create_intent(intent("v1:start:1", "v2")) is None
    assert await store.intents.in_flight(["v1", "v2"]) == {"v1": created}


async def test_lifecycle_sent_verified_failed(store: Any, clock: FakeClock) -> None:
    lease = await store.leases.acquire("leader", holder="a", ttl_s=60)
    await store.intents.create_intent(intent("k1", epoch=lease.epoch))
    await store.intents.mark_sent("k1", epoch=lease.epoch, at=START)
    (sent,) = (await store.intents.in_flight(["v1"])).values()
    assert (sent.status, sent.attempts, sent.sent_at) == (IntentStatus.SENT, 1, START)
    await store.intents.mark_verified("k1", at=START + timedelta(minutes=1))
    assert await store.intents.in_flight(["v1"]) == {}
    await clock.advance(120)
    await store.intents.create_intent(intent("k2", epoch=lease.epoch))
    await store.intents.mark_failed("k2", error="still not charging", at=clock.now())
    history = await store.intents.history("v1", since=START)
    assert [(i.key, i.status) for i in history] == [
        ("k1", IntentStatus.VERIFIED),
        ("k2", IntentStatus.FAILED),
    ]
    assert history[1].error == "still not charging"
    assert [i.key for i in await store.intents.history("v1", since=clock.now())] == ["k2"]


async def test_stale_epoch_is_refused(store: Any) -> None:
    await store.intents.create_intent(intent("k1"))
    with pytest.raises(StaleEpoch):
        await store.intents.mark_sent("k1", epoch=1, at=START)  # no leader yet: only epoch 0
    first = await store.leases.acquire("leader", holder="a", ttl_s=0)
    second = await store.leases.acquire("leader", holder="b", ttl_s=60)
    assert (first.epoch, second.epoch) == (1, 2)
    with pytest.raises(StaleEpoch):
        await store.intents.mark_sent("k1", epoch=first.epoch, at=START)
    (still,) = (await store.intents.in_flight(["v1"])).values()
    assert (still.status, still.attempts) == (IntentStatus.PENDING, 0)
    await store.intents.mark_sent("k1", epoch=second.epoch, at=START)
    with pytest.raises(StoreError):
        await store.intents.mark_sent("unknown", epoch=second.epoch, at=START)


async def test_lease_acquire_renew_refuse(store: Any) -> None:
    lease = await store.leases.acquire("leader", holder="a", ttl_s=60)
    assert (lease.holder, lease.epoch) == ("a", 1)
    assert await store.leases.acquire("leader", holder="b", ttl_s=60) is None
    renewed = await store.leases.acquire("leader", holder="a", ttl_s=120)
    assert renewed.epoch == 1
    assert renewed.expires_at > lease.expires_at
    assert await store.leases.current("leader") == renewed
    assert await store.leases.current("other") is None


async def test_lease_expiry_takeover_and_release(store: Any) -> None:
    await store.leases.acquire("leader", holder="a", ttl_s=0)  # expires at once
    assert await store.leases.current("leader") is None
    taken = await store.leases.acquire("leader", holder="b", ttl_s=60)
    assert (taken.holder, taken.epoch) == ("b", 2)
    stale = await store.leases.acquire("leader", holder="a", ttl_s=60)
    assert stale is None
    await store.leases.release(taken)
    assert await store.leases.current("leader") is None
    again = await store.leases.acquire("leader", holder="a", ttl_s=60)
    assert again.epoch == 3
    await store.leases.release(taken)  # an old holder's release leaves the new lease alone
    assert await store.leases.current("leader") == again


async def test_record_sends_writes_a_batch_once_and_only_for_the_leader(store: Any) -> None:
    batch = [intent("k1", "v1"), intent("k2", "v2")]
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends(batch, epoch=1, at=START)  # no leader yet
    assert await store.intents.in_flight(["v1", "v2"]) == {}
    lease = await store.leases.acquire("leader", holder="a", ttl_s=0)
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
    newer = await store.leases.acquire("leader", holder="b", ttl_s=60)
    assert newer.epoch == lease.epoch + 1
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k4", "v4")], epoch=lease.epoch, at=START)
    assert await store.intents.in_flight(["v4"]) == {}


async def test_outcomes_of_many_intents_are_recorded_at_once(store: Any) -> None:
    lease = await store.leases.acquire("leader", holder="a", ttl_s=60)
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
