"""APScheduler 3.11 wiring: the jobs only wake the daemon; the durable state is our own schema.

Every job is coalesced, runs one instance at a time and has an explicit misfire grace time.
Intervals given in clock seconds are divided by the clock's speed, so an accelerated clock (the
demo) accelerates the jobs too; the lease job runs on wall time because leases use database time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from enode_scheduler.config import SchedulerSettings

# APScheduler jobs shorter than this only burn CPU; the reconcile loop has its own timer anyway.
MIN_INTERVAL_S = 0.25

Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobSet:
    """The coroutines the daemon exposes to the scheduler."""

    renew_lease: Job
    refresh_plans: Job
    refresh_prices: Job
    safety_tick: Job
    watchdog: Job
    check_vendors: Job


def build_scheduler(
    jobs: JobSet, settings: SchedulerSettings, *, speed: float, watchdog_s: float
) -> AsyncIOScheduler:
    """An AsyncIOScheduler with the daemon's jobs added (not started)."""
    scheduler = AsyncIOScheduler(
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(1, round(settings.misfire_grace_s)),
        },
        timezone="UTC",
    )

    def every(job: Job, job_id: str, seconds: float) -> None:
        scheduler.add_job(
            job,
            "interval",
            seconds=max(MIN_INTERVAL_S, seconds),
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, round(settings.misfire_grace_s)),
        )

    every(jobs.renew_lease, "lease", settings.lease_ttl_s / 3)
    every(jobs.refresh_plans, "plans", settings.plans_refresh_s / speed)
    every(jobs.refresh_prices, "prices", settings.safety_tick_s / speed)
    every(jobs.safety_tick, "safety_tick", settings.safety_tick_s / speed)
    every(jobs.watchdog, "watchdog", watchdog_s)
    every(jobs.check_vendors, "vendors", settings.vendor_health_s / speed)
    return scheduler
