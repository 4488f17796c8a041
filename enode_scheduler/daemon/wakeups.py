"""Wake-ups across replicas: the API's triggers reach the replica that runs the car.

On PostgreSQL a trigger (a webhook, a plan edited through any replica's API) is published on the
wake-up channel; every replica's listener, this one's too, turns it back into the daemon's own
trigger, which acts on the cars that replica runs and ignores the rest. The local call goes
through the channel as well, so a car is not woken twice. While the listener is down, or when
publishing fails, the local trigger is called directly, as on SQLite (one process, no channel).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol

import structlog

from enode_scheduler.exceptions import StoreError
from enode_scheduler.store.wakes import Wake, WakeCallback

__all__ = ["WakeChannel", "WakeRelay"]

log = structlog.get_logger()

Trigger = Callable[[str], Awaitable[None]]


class WakeChannel(Protocol):
    """What the relay needs of `store.wakes` (`SqlWakes` fits)."""

    @property
    def enabled(self) -> bool: ...

    async def publish(self, vehicle_ids: Iterable[str], *, replan: bool) -> None: ...

    def listener(self, callback: WakeCallback) -> _Listener: ...


class _Listener(Protocol):
    @property
    def connected(self) -> bool: ...

    async def wait_connected(self) -> None: ...

    def running(self) -> contextlib.AbstractAsyncContextManager[object]: ...


class WakeRelay:
    """The daemon's `request_replan`/`request_reconcile`, published to every replica.

    `replan` is called once per wake-up whatever its number of cars: the daemon's replan picks up
    every changed plan. `reconcile` is called per car.
    """

    def __init__(self, channel: WakeChannel, *, replan: Trigger, reconcile: Trigger) -> None:
        self._channel = channel
        self._replan = replan
        self._reconcile = reconcile
        self._listener = channel.listener(self.deliver)
        # Coalesced between flushes: a webhook delivery of many cars becomes one publish.
        self._pending: dict[bool, dict[str, None]] = {True: {}, False: {}}
        self._flush_due = asyncio.Event()
        self._publish_failing = False

    async def request_replan(self, vehicle_id: str) -> None:
        await self._request(vehicle_id, replan=True)

    async def request_reconcile(self, vehicle_id: str) -> None:
        await self._request(vehicle_id, replan=False)

    async def deliver(self, wake: Wake) -> None:
        """A wake-up from the channel (from any replica): act on it here."""
        if wake.replan:
            await self._replan(wake.vehicle_ids[0])
            return
        for vehicle_id in wake.vehicle_ids:
            await self._reconcile(vehicle_id)

    async def wait_listening(self) -> None:
        """Until the listener is in place (PostgreSQL only: never returns on SQLite)."""
        await self._listener.wait_connected()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Listen and publish until the block ends (nothing to run on SQLite)."""
        if not self._channel.enabled:
            yield
            return
        async with self._listener.running():
            flusher = asyncio.create_task(self._flush_loop(), name="wake-publish")
            try:
                yield
            finally:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher

    async def _request(self, vehicle_id: str, *, replan: bool) -> None:
        if not self._channel.enabled or not self._listener.connected:
            # No echo will come back: act here now (others catch up by their own jobs).
            await self._local(Wake(vehicle_ids=(vehicle_id,), replan=replan))
            if not self._channel.enabled:
                return
        self._pending[replan][vehicle_id] = None
        self._flush_due.set()

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_due.wait()
            self._flush_due.clear()
            for replan in (True, False):
                ids = list(self._pending[replan])
                self._pending[replan].clear()
                if ids:
                    await self._publish(Wake(vehicle_ids=tuple(ids), replan=replan))

    async def _publish(self, wake: Wake) -> None:
        echo = self._listener.connected
        try:
            await self._channel.publish(wake.vehicle_ids, replan=wake.replan)
        except StoreError as exc:
            if not self._publish_failing:
                log.warning("wake_publish_failed", error=str(exc))
            self._publish_failing = True
            if echo:
                await self._local(wake)  # the cars this replica runs still get their wake-up
            return
        if self._publish_failing:
            log.info("wake_publish_recovered")
            self._publish_failing = False

    async def _local(self, wake: Wake) -> None:
        try:
            await self.deliver(wake)
        except Exception as exc:  # a trigger's failure is the daemon's to log; keep relaying
            log.warning("wake_local_failed", error=f"{type(exc).__name__}: {exc}")
