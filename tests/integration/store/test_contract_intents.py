"""Contract: command intents (unique keys, fencing by the epochs of shard leases) on every store."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.exceptions import StaleEpoch, StoreError
from enode_scheduler.records import ChargeAction, CommandIntent, IntentStatus
from enode_scheduler.store import open_store

from .conftest import START


def intent(key: str, vehicle_id: str = "v1", *, epoch: int = 1, shard: int = 0) -> CommandIntent:
    return CommandIntent(
        key, vehicle_id, "u1", ChargeAction.START, "window opens", epoch, shard=shard
    )


async def claim(store: Any, holder: str = "a", *, shards: int = 4, ttl_s: float = 60) -> int:
    """Take every shard; the epoch they got (the same for all on a fresh store)."""
    leases = await store.shards.claim(holder, wanted=shards, total=shards, ttl_s=ttl_s)
    assert len({lease.epoch for lease in leases}) == 1
    return int(leases[0].epoch)


async def test_a_key_is_written_once(store: Any) -> None:
    epoch = await claim(store)
    (written,) = await store.intents.record_sends([intent("v1:start:1", epoch=epoch)], at=START)
    assert written.intent_id is not None
    assert written.created_at == START
    # Same key again, in a later batch or twice in one: nothing more is written or returned.
    again = [intent("v1:start:1", "v2"), intent("v2:start:1", "v2"), intent("v2:start:1", "v3")]
    (only,) = await store.intents.record_sends(again, at=START)
    assert (only.key, only.vehicle_id) == ("v2:start:1", "v2")
    assert await store.intents.in_flight(["v1", "v2", "v3"]) == {"v1": written, "v2": only}


async def test_lifecycle_sent_verified_failed(store: Any, clock: FakeClock) -> None:
    epoch = await claim(store)
    await store.intents.record_sends([intent("k1", epoch=epoch)], at=START)
    (sent,) = (await store.intents.in_flight(["v1"])).values()
    assert (sent.status, sent.attempts, sent.sent_at) == (IntentStatus.SENT, 1, START)
    await store.intents.record_outcomes(["k1"], {}, at=START + timedelta(minutes=1))
    assert await store.intents.in_flight(["v1"]) == {}
    await clock.advance(120)
    await store.intents.record_sends([intent("k2", epoch=epoch)], at=clock.now())
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
        await store.intents.record_sends([intent("k1")], at=START)  # never claimed: only 0
    await store.shards.claim("a", wanted=2, total=2, ttl_s=0)  # epoch 1, expires at once
    taken = await store.shards.claim("b", wanted=2, total=2, ttl_s=60)
    assert [lease.epoch for lease in taken] == [2, 2]
    with pytest.raises(StaleEpoch) as refused:
        await store.intents.record_sends([intent("k1", epoch=1)], at=START)
    assert refused.value.shards == (0,)
    assert await store.intents.history("v1", since=START) == []
    (sent,) = await store.intents.record_sends([intent("k1", epoch=2)], at=START)
    assert (sent.key, sent.epoch, sent.shard) == ("k1", 2, 0)


async def test_epoch_zero_fences_until_the_shard_is_claimed(store: Any) -> None:
    (sent,) = await store.intents.record_sends([intent("k1", epoch=0)], at=START)
    assert sent.epoch == 0
    await claim(store, shards=1)
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k2", epoch=0)], at=START)


async def test_each_intent_is_fenced_by_its_own_shard(store: Any) -> None:
    await store.shards.claim("a", wanted=1, total=2, ttl_s=0)  # shard 0, epoch 1, expired
    await store.shards.claim("b", wanted=2, total=2, ttl_s=60)  # 0 at epoch 2, 1 at epoch 1
    ok = [intent("k0", "v0", epoch=2, shard=0), intent("k1", "v1", epoch=1, shard=1)]
    assert len(await store.intents.record_sends(ok, at=START)) == 2
    # One stale intent refuses the whole batch, and says which shard was stale.
    mixed = [intent("k2", "v2", epoch=2, shard=0), intent("k3", "v3", epoch=2, shard=1)]
    with pytest.raises(StaleEpoch) as refused:
        await store.intents.record_sends(mixed, at=START)
    assert refused.value.shards == (1,)
    assert await store.intents.in_flight(["v2", "v3"]) == {}


async def test_a_released_shard_fences_its_old_epoch(store: Any) -> None:
    epoch = await claim(store, shards=2)
    await store.shards.release("a", [1])
    (sent,) = await store.intents.record_sends([intent("k0", epoch=epoch, shard=0)], at=START)
    assert sent.shard == 0
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k1", epoch=epoch, shard=1)], at=START)


async def test_record_sends_writes_a_batch_once_and_only_for_the_owner(store: Any) -> None:
    batch = [intent("k1", "v1"), intent("k2", "v2")]
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends(batch, at=START)  # no shard claimed yet
    assert await store.intents.in_flight(["v1", "v2"]) == {}
    epoch = await claim(store, ttl_s=0)
    written = await store.intents.record_sends(batch, at=START)
    assert sorted((i.key, i.status, i.epoch, i.attempts, i.sent_at) for i in written) == [
        ("k1", IntentStatus.SENT, epoch, 1, START),
        ("k2", IntentStatus.SENT, epoch, 1, START),
    ]
    # A key already written is skipped, the new one in the same batch still goes in.
    again = await store.intents.record_sends([intent("k2", "v2"), intent("k3", "v3")], at=START)
    assert [i.key for i in again] == ["k3"]
    flying = await store.intents.in_flight(["v1", "v2", "v3"])
    assert {v: i.key for v, i in flying.items()} == {"v1": "k1", "v2": "k2", "v3": "k3"}
    assert await claim(store, "b") == epoch + 1
    with pytest.raises(StaleEpoch):
        await store.intents.record_sends([intent("k4", "v4", epoch=epoch)], at=START)
    assert await store.intents.in_flight(["v4"]) == {}


async def test_a_takeover_waits_for_sends_in_progress(empty_db_url: str, tmp_path: Path) -> None:
    """The claim that moves a shard and the fenced write never interleave: either the write
    lands first (and the new owner sees it in flight) or it is refused."""
    settings = DatabaseSettings(url=empty_db_url, auto_migrate=True)
    async with (
        open_store(settings, state_dir=tmp_path) as one,
        open_store(settings, state_dir=tmp_path) as two,
    ):
        for round_ in range(5):
            old = await one.shards.claim("a", wanted=1, total=1, ttl_s=0)
            sends = [intent(f"k{round_}-{i}", f"v{i}", epoch=old[0].epoch) for i in range(20)]
            results = await asyncio.gather(
                one.intents.record_sends(sends, at=START),
                two.shards.claim("b", wanted=1, total=1, ttl_s=60),
                return_exceptions=True,
            )
            written, taken = results
            assert not isinstance(taken, BaseException)
            assert taken[0].epoch == old[0].epoch + 1
            flying = await two.intents.in_flight([f"v{i}" for i in range(20)])
            if isinstance(written, StaleEpoch):
                assert all(i.key != f"k{round_}-0" for i in flying.values())
            else:
                assert not isinstance(written, BaseException)
                assert flying["v0"].key == f"k{round_}-0"
            await two.shards.release("b")


async def test_outcomes_of_many_intents_are_recorded_at_once(store: Any) -> None:
    epoch = await claim(store)
    batch = [intent(f"k{i}", f"v{i}", epoch=epoch) for i in range(4)]
    await store.intents.record_sends(batch, at=START)
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
