"""Time, the only place that reads the wall clock.

Everything else takes `now` as an argument or a `Clock`, so tests can run days of simulated time
in seconds without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of aware UTC time and a way to wait on it."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs `speed` times faster than the wall clock: `start` at Unix time `anchor_unix`.

    The demo, the sim and the daemon each build one from the same (start, speed, anchor), so
    separate processes agree on the simulated time without talking to each other.
    """

    def __init__(self, *, start: datetime, speed: float, anchor_unix: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs an aware start")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self.anchor_unix = time.time() if anchor_unix is None else anchor_unix

    def now(self) -> datetime:
        elapsed_s = (time.time() - self.anchor_unix) * self.speed
        return self.start + timedelta(seconds=elapsed_s)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class FakeClock:
    """Time that moves only when told to; `sleep` returns once `advance` passes its wake time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake_at = self._now + timedelta(seconds=seconds)
        heapq.heappush(self._sleepers, (wake_at, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own wake time, in order."""
        await self.advance_to(self._now + timedelta(seconds=seconds))

    async def advance_to(self, when: datetime) -> None:
        target = when.astimezone(UTC)
        if target < self._now:
            raise ValueError("FakeClock cannot go backwards")
        while self._sleepers and self._sleepers[0][0] <= target:
            wake_at, _, future = heapq.heappop(self._sleepers)
            self._now = wake_at
            if not future.done():
                future.set_result(None)
            # Let the woken task run while `now` is still its wake time.
            for _ in range(_YIELDS_PER_WAKE):
                await asyncio.sleep(0)
        self._now = target


class StepClock:
    """Simulated time that moves only when its driver moves it, from one instant to the next.

    For a driver that runs all the work due at an instant to completion before it moves on (the
    demo): that work takes no simulated time, so a wait inside it (a pace slot, a short retry)
    yields to the event loop and goes on at the same instant. What happens then depends only on
    the instants, never on how fast the machine gets through them. Nothing may sleep on it to let
    time pass: that would spin.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("StepClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    def advance_to(self, when: datetime) -> None:
        """Make `when` the current instant (never earlier than the current one)."""
        target = when.astimezone(UTC)
        if target < self._now:
            raise ValueError(f"StepClock cannot go back from {self._now} to {target}")
        self._now = target


# Enough event-loop turns for a woken coroutine to reach its next await in practice.
_YIELDS_PER_WAKE = 5
