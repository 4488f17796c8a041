"""The daemon on a `StepClock`: what `Daemon.run` does on timers, done at instants of sim time.

`Daemon.run` waits on the wall clock (APScheduler jobs, the loop's sleep), so on an accelerated
clock a busy machine shifts when a poll or a command happens. Here the caller moves the clock
from instant to instant, and at each one the jobs and reconcile steps due then run to completion
before time moves on: the same steps, requests and writes as `run`, at instants that depend only
on the inputs (the demo's story), never on how fast the machine gets through them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta

import structlog

from enode_scheduler.clock import StepClock
from enode_scheduler.daemon.app import Daemon

log = structlog.get_logger()

# Steps one instant may take before the daemon is deemed stuck there: a fleet larger than
# `max_cars_per_step` needs a few; a step that keeps asking for itself at one instant is a bug.
MAX_STEPS_PER_INSTANT = 100


class SteppedDaemon:
    """Drives `daemon` on `clock`: `next_at()` says when it wants to run, `run_due()` runs it."""

    def __init__(self, daemon: Daemon, clock: StepClock) -> None:
        if daemon.clock is not clock:
            raise ValueError("the daemon must be built on the StepClock that drives it")
        self.daemon = daemon
        self.clock = clock
        settings = daemon.settings
        # The jobs `run` schedules, on sim time; its safety tick is already in `next_step_at`.
        self._jobs: dict[str, tuple[Callable[[], Awaitable[None]], timedelta]] = {
            "plans": (daemon.refresh_plans, timedelta(seconds=settings.plans_refresh_s)),
            "prices": (daemon.refresh_prices, timedelta(seconds=settings.safety_tick_s)),
            "vendors": (daemon.check_vendors, timedelta(seconds=settings.vendor_health_s)),
        }
        self._job_at: dict[str, datetime] = {}
        self._step_at = clock.now()
        self._renewed_mono = 0.0

    @asynccontextmanager
    async def started(self) -> AsyncIterator[SteppedDaemon]:
        """Start as `run` does (lock, lease, vendors, a first step, prices); stop on exit."""
        daemon = self.daemon
        async with AsyncExitStack() as stack:
            await daemon.open(stack)
            self._renewed_mono = time.monotonic()
            await daemon.check_vendors()
            now = self.clock.now()
            await self._steps(now)
            await daemon.refresh_prices()
            await self._steps(now)  # as `run`'s loop does first, now with the prices
            self._job_at = {name: now + every for name, (_, every) in self._jobs.items()}
            daemon.ready_event.set()
            log.info("daemon_started", holder=daemon.ownership.holder, stepped=True,
                     vehicles=len(daemon.reconciler.cars))  # fmt: skip
            try:
                yield self
            finally:
                await daemon.ownership.release()
                log.info("daemon_stopped", exit_code=daemon.exit_code)

    def next_at(self) -> datetime:
        """The next instant the daemon has work: a reconcile step or a job."""
        return min(self._step_at, *self._job_at.values())

    async def run_due(self) -> None:
        """Run the jobs and the steps due at the clock's instant (and none that are not)."""
        now = self.clock.now()
        await self._keep_lease()
        for name, (job, every) in self._jobs.items():
            if self._job_at[name] <= now:
                await job()
                self._job_at[name] = now + every
        if self._step_at <= now or self.daemon.wake_requested:
            await self._steps(now)

    async def _steps(self, now: datetime) -> None:
        """Step until nothing more is due at `now` (a big fleet takes a few bounded steps)."""
        daemon = self.daemon
        for _ in range(MAX_STEPS_PER_INSTANT):
            await daemon.step()
            if daemon.failures.failing:
                # No backoff on sim time: a failing step in a scripted run is a fault to show.
                raise RuntimeError(f"a reconcile step failed: {daemon.failures.last_error}")
            self._step_at = daemon.next_step_at(now)
            if self._step_at > now and not daemon.wake_requested:
                return
        raise RuntimeError(f"the daemon still has work due at {now.isoformat()} after "
                           f"{MAX_STEPS_PER_INSTANT} steps")  # fmt: skip

    async def _keep_lease(self) -> None:
        # The lease (and the local deadline a send is checked against) lives on wall time.
        if time.monotonic() - self._renewed_mono >= self.daemon.ownership.ttl_s / 3:
            await self.daemon.renew_lease()
            self._renewed_mono = time.monotonic()
