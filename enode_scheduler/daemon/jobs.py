"""APScheduler 3.11 wiring: the jobs only wake the daemon; the durable state is our own schema.

Every job is coalesced, runs one instance at a time and has an explicit misfire grace time.
Intervals given in clock seconds are divided by the clock's speed, so an accelerated clock (the
demo) accelerates the jobs too; the lease job runs on wall time because leases use database time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from enode_scheduler.config import SchedulerSettings

# APScheduler jobs shorter than this only burn CPU; the reconcile loop has its own timer anyway.
MIN_INTERVAL_S = 0.25

Job = Callable[[], Awaitable[None]]

log = structlog.get_logger()


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
    jobs: JobSet,
    settings: SchedulerSettings,
    *,
    speed: float,
    watchdog_s: float,
    running: set[asyncio.Task[None]] | None = None,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler with the daemon's jobs added (not started).

    Each job run's task is kept in `running` while it runs: `shutdown(wait=False)` only cancels
    them, and the daemon must see them end before it closes what they use (the store).
    """
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
            _guarded(job, job_id, running),
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
    _log_skips_once(scheduler)
    return scheduler


async def stop_scheduler(
    scheduler: AsyncIOScheduler, running: set[asyncio.Task[None]], *, timeout_s: float = 5.0
) -> None:
    """Stop the scheduler and wait (up to `timeout_s`) for the job runs it cancels: a run
    cancelled only after the store has closed hangs the event loop's teardown."""
    scheduler.shutdown(wait=False)
    pending = [task for task in running if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=timeout_s)


def _guarded(job: Job, job_id: str, running: set[asyncio.Task[None]] | None) -> Job:
    """A job's exception is one line with the error (the traceback at DEBUG), never a crash."""

    async def run() -> None:
        task = asyncio.current_task()
        if running is not None and task is not None:
            running.add(task)
        try:
            await job()
        except Exception as exc:
            log.error("job_failed", job=job_id, error=f"{type(exc).__name__}: {exc}")
            log.debug("job_failed_traceback", job=job_id, exc_info=exc)
        finally:
            if running is not None and task is not None:
                running.discard(task)

    return run


class _NoSkipLines(logging.Filter):
    """APScheduler warns at every tick a job is skipped; `_log_skips_once` says it once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in str(record.msg)


def _log_skips_once(scheduler: AsyncIOScheduler) -> None:
    """One line per episode of a job skipped because its previous run is still going."""
    skipping: set[str] = set()
    aps_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _NoSkipLines) for f in aps_log.filters):
        aps_log.addFilter(_NoSkipLines())

    def on_event(event: JobEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            if event.job_id not in skipping:
                skipping.add(event.job_id)
                log.warning("job_skipped_still_running", job=event.job_id)
        elif event.job_id in skipping:
            skipping.discard(event.job_id)
            log.info("job_caught_up", job=event.job_id)

    scheduler.add_listener(on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_EXECUTED)
