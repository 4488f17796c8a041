"""The wake relay when the channel cannot carry a wake-up: the local triggers still act."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from structlog.testing import capture_logs

from enode_scheduler.daemon.wakeups import WakeRelay
from enode_scheduler.exceptions import StoreError
from enode_scheduler.store.wakes import Wake, WakeCallback


class FakeListener:
    def __init__(self, callback: WakeCallback) -> None:
        self.callback = callback
        self.connected = True

    async def wait_connected(self) -> None:
        return None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[object]:
        yield self


class FakeChannel:
    """A channel that echoes to its one listener while connected, or fails to publish."""

    enabled = True

    def __init__(self) -> None:
        self.failing = False
        self.published: list[Wake] = []
        self.listening: FakeListener | None = None
        self.sent = asyncio.Event()

    async def publish(self, vehicle_ids: Iterable[str], *, replan: bool) -> None:
        try:
            if self.failing:
                raise StoreError("database error: the server is gone")
            wake = Wake(tuple(vehicle_ids), replan=replan)
            self.published.append(wake)
            if self.listening is not None and self.listening.connected:
                await self.listening.callback(wake)
        finally:
            self.sent.set()

    def listener(self, callback: WakeCallback) -> FakeListener:
        self.listening = FakeListener(callback)
        return self.listening


class Calls:
    def __init__(self) -> None:
        self.replans: list[str] = []
        self.reconciles: list[str] = []

    async def replan(self, vehicle_id: str) -> None:
        self.replans.append(vehicle_id)

    async def reconcile(self, vehicle_id: str) -> None:
        self.reconciles.append(vehicle_id)


async def _flushed(channel: FakeChannel) -> None:
    async with asyncio.timeout(5):
        await channel.sent.wait()
    channel.sent.clear()


async def test_requests_of_one_tick_are_one_publish_each_kind() -> None:
    channel, calls = FakeChannel(), Calls()
    relay = WakeRelay(channel, replan=calls.replan, reconcile=calls.reconcile)
    async with relay.running():
        for vid in ("a", "b", "a"):
            await relay.request_reconcile(vid)
        await relay.request_replan("b")
        await _flushed(channel)
    assert channel.published == [Wake(("b",), replan=True), Wake(("a", "b"), replan=False)]
    # Through the echo only, not also directly.
    assert calls.reconciles == ["a", "b"]
    assert calls.replans == ["b"]


async def test_with_the_listener_down_the_local_trigger_acts_at_once_and_others_are_told() -> None:
    channel, calls = FakeChannel(), Calls()
    relay = WakeRelay(channel, replan=calls.replan, reconcile=calls.reconcile)
    assert channel.listening is not None
    channel.listening.connected = False
    async with relay.running():
        await relay.request_reconcile("a")
        assert calls.reconciles == ["a"]
        await _flushed(channel)
    assert channel.published == [Wake(("a",), replan=False)]
    assert calls.reconciles == ["a"]


async def test_a_failed_publish_still_wakes_the_local_car_and_is_logged_once() -> None:
    channel, calls = FakeChannel(), Calls()
    channel.failing = True
    relay = WakeRelay(channel, replan=calls.replan, reconcile=calls.reconcile)
    with capture_logs() as events:
        async with relay.running():
            await relay.request_reconcile("a")
            await _flushed(channel)
            await relay.request_replan("b")
            await _flushed(channel)
            channel.failing = False
            await relay.request_reconcile("c")
            await _flushed(channel)
    assert calls.reconciles == ["a", "c"]
    assert calls.replans == ["b"]
    names = [e["event"] for e in events]
    assert names == ["wake_publish_failed", "wake_publish_recovered"]
