"""Jobs: an exception is one line; a job still running when its next tick comes is said once."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from enode_scheduler.config import SchedulerSettings
from enode_scheduler.daemon.jobs import JobSet, build_scheduler, stop_scheduler


async def test_job_errors_are_one_line_and_skips_are_logged_once_per_episode() -> None:
    release = asyncio.Event()

    async def nothing() -> None:
        return None

    async def broken() -> None:
        raise RuntimeError("boom")

    async def slow() -> None:
        await release.wait()

    jobs = JobSet(
        renew_lease=nothing, refresh_plans=nothing, refresh_prices=nothing,
        safety_tick=broken, watchdog=slow, check_vendors=nothing,
    )  # fmt: skip
    settings = SchedulerSettings(safety_tick_s=0.25, lease_ttl_s=60, plans_refresh_s=60)
    scheduler = build_scheduler(jobs, settings, speed=1.0, watchdog_s=0.25)
    with capture_logs() as logs:
        scheduler.start()
        try:
            await asyncio.sleep(1.6)  # the watchdog job is skipped at five or six ticks
            release.set()
            await asyncio.sleep(0.6)
        finally:
            scheduler.shutdown(wait=False)
    failed = [e for e in logs if e["event"] == "job_failed"]
    assert failed
    assert failed[0] == {
        "event": "job_failed", "job": "safety_tick", "error": "RuntimeError: boom",
        "log_level": "error",
    }  # fmt: skip
    skipped = [e for e in logs if e["event"] == "job_skipped_still_running"]
    assert skipped == [{"event": "job_skipped_still_running", "job": "watchdog",
                        "log_level": "warning"}]  # fmt: skip
    assert [e["job"] for e in logs if e["event"] == "job_caught_up"] == ["watchdog"]


async def test_stopping_waits_for_the_job_runs_it_cancels() -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def nothing() -> None:
        return None

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.05)  # cleanup that needs the loop (a store call, say)
            finished.append("stuck")

    jobs = JobSet(
        renew_lease=nothing, refresh_plans=nothing, refresh_prices=nothing,
        safety_tick=stuck, watchdog=nothing, check_vendors=nothing,
    )  # fmt: skip
    settings = SchedulerSettings(safety_tick_s=0.25, lease_ttl_s=60, plans_refresh_s=60)
    running: set[asyncio.Task[None]] = set()
    scheduler = build_scheduler(jobs, settings, speed=1.0, watchdog_s=60, running=running)
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    assert running
    await stop_scheduler(scheduler, running)
    assert finished == ["stuck"]
    assert all(task.done() for task in running)
