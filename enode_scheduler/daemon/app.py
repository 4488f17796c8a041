"""The daemon's lifecycle: start, reconcile until told to stop, stop within the grace time.

Start-up order: take the SQLite lock (or try for the PostgreSQL lease), load the fleet from the
database, reconcile once before anything else, then start the jobs, the health endpoints and
tell systemd we are ready. SIGTERM/SIGINT (when installed) stop taking new work, let the current
step finish within `shutdown_grace_s`, release the lease and close everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from enode_scheduler.api.web.history import SocHistory
from enode_scheduler.api.wiring import api_for
from enode_scheduler.bootstrap import Deps, make_co2_job, make_price_job, make_reconciler
from enode_scheduler.daemon.jobs import JobSet, build_scheduler
from enode_scheduler.daemon.leader import Leadership, sqlite_lock
from enode_scheduler.daemon.metrics import DaemonMetrics, render
from enode_scheduler.daemon.notify import Notifier
from enode_scheduler.daemon.server import bound_port, make_server
from enode_scheduler.exceptions import LostLeadership, StoreError
from enode_scheduler.notify.detect import CarFacts, Detector
from enode_scheduler.records import NotifyEvent
from enode_scheduler.zones import get_zone

log = structlog.get_logger()

EXIT_STALLED = 3
# How often (wall seconds) the outbox is checked for retries when nothing new was queued.
NOTIFY_POLL_S = 2.0


def default_holder() -> str:
    """A lease holder name unique per process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Daemon:
    """One running scheduler process over built adapters (`bootstrap.build`)."""

    def __init__(
        self,
        deps: Deps,
        *,
        notifier: Notifier | None = None,
        holder: str | None = None,
        install_signals: bool = True,
    ) -> None:
        self.deps = deps
        self.settings = deps.settings.scheduler
        self.clock = deps.clock
        self.notifier = notifier or Notifier(None)
        self.install_signals = install_signals
        self.reconciler = make_reconciler(deps)
        self.price_job = make_price_job(deps, self.reconciler)
        self.co2_job = make_co2_job(deps, self.reconciler)
        self.leadership = Leadership(
            deps.store.leases, holder=holder or default_holder(), ttl_s=self.settings.lease_ttl_s
        )
        self.metrics = DaemonMetrics()
        self.soc_history = SocHistory()
        self.notifications = deps.notifications
        self.detector = Detector()
        self._notify_wake = asyncio.Event()
        self.speed = float(getattr(self.clock, "speed", 1.0))
        self.stop_event = asyncio.Event()
        self.ready_event = asyncio.Event()
        self._wake = asyncio.Event()
        self._loaded_epoch: int | None = None
        self._progress_mono = time.monotonic()
        self._prices_next_at: datetime | None = None
        self._co2_next_at: datetime | None = None
        self.exit_code = 0
        self.health_port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until `stop()` (or a signal); returns the process exit code."""
        # One line per job run or HTTP request drowns the daemon's own events.
        # Apprise's own lines may name a target's URL, which holds credentials.
        for noisy in ("apscheduler", "httpx", "apprise"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        async with AsyncExitStack() as stack:
            if self.deps.store.dialect == "sqlite":
                stack.enter_context(sqlite_lock(self._sqlite_path()))
                # The file lock proves the last holder is gone: no need to wait out its lease.
                await self.leadership.clear_stale()
            self._install_signals(stack)
            await self.leadership.renew()
            # The first pass over a big fleet can outlast the lease: keep it renewed meanwhile.
            renewing = asyncio.create_task(self._renew_until_jobs_start(), name="lease-renew")
            try:
                await self._step()  # reconcile before anything else after a (re)start
            finally:
                renewing.cancel()
            await self.refresh_prices()
            scheduler = build_scheduler(
                self._jobs(),
                self.settings,
                speed=self.speed,
                watchdog_s=self._watchdog_interval_s(),
            )
            scheduler.start()
            stack.callback(scheduler.shutdown, wait=False)
            await self._start_health(stack)
            loop_task = asyncio.create_task(self._loop(), name="reconcile-loop")
            if self.notifications is not None:
                delivering = asyncio.create_task(self._deliver_loop(), name="notify-delivery")
                stack.callback(delivering.cancel)
            self.notifier.ready()
            self.ready_event.set()
            log.info(
                "daemon_started",
                holder=self.leadership.holder,
                leader=self._leading(),
                vehicles=len(self.reconciler.cars),
                health_port=self.health_port,
            )
            await self.stop_event.wait()
            self.notifier.stopping()
            await self._drain(loop_task)
            await self.leadership.release()
        log.info("daemon_stopped", exit_code=self.exit_code)
        return self.exit_code

    def stop(self, exit_code: int = 0) -> None:
        """Ask the daemon to stop (idempotent; the first exit code wins)."""
        if not self.stop_event.is_set():
            self.exit_code = exit_code
            self.stop_event.set()

    def _install_signals(self, stack: AsyncExitStack) -> None:
        if not self.install_signals:
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
            stack.callback(loop.remove_signal_handler, signum)

    async def _drain(self, loop_task: asyncio.Task[None]) -> None:
        self._wake.set()
        done, _ = await asyncio.wait({loop_task}, timeout=self.settings.shutdown_grace_s)
        if not done:
            log.warning("shutdown_abandoned_work", grace_s=self.settings.shutdown_grace_s)
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task

    async def _start_health(self, stack: AsyncExitStack) -> None:
        listen = self.deps.settings.api.listen
        if listen is None:
            return
        # The API's /v1 routes answer 401 until `[[api.tokens]]` are configured.
        app = api_for(
            self.deps,
            ready=self._ready,
            metrics=self._render,
            request_replan=self.request_replan,
            request_reconcile=self.request_reconcile,
            soc_history=self.soc_history,
        )
        server = make_server(app, listen)
        task = asyncio.create_task(server.serve(), name="api-server")

        async def close() -> None:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)

        stack.push_async_callback(close)
        # uvicorn exposes `started` as a flag only, not an event.
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # raise the bind error
        self.health_port = bound_port(server)

    def _sqlite_path(self) -> Path:
        database = self.deps.store.engine.url.database
        return Path(database or "enode-scheduler.db").resolve()

    # -- the reconcile loop ------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self.stop_event.is_set():
            self._wake.clear()
            await self._step()
            if self.stop_event.is_set():
                return
            now = self.clock.now()
            if self._leading():
                await self._sleep_until(self.reconciler.next_wake(now=now))
            else:
                # A standby waits for the lease job's wake-up, not for cars it does not run.
                await self._sleep_until(now + timedelta(seconds=self.settings.safety_tick_s))

    async def _step(self) -> None:
        epoch = self.leadership.epoch
        self.metrics.leader = epoch is not None
        if epoch is None:
            if self.leadership.reachable:
                self._progress_mono = time.monotonic()  # a standby that can ask is healthy
            return
        started = time.monotonic()
        events: list[NotifyEvent] = []
        try:
            if epoch != self._loaded_epoch:
                await self.reconciler.load(now=self.clock.now())
                self._loaded_epoch = epoch
                events += self._detect_on_load(epoch)
            now = self.clock.now()
            report = await self.reconciler.step(now=now, epoch=epoch)
            events += self._detect_after_step(now, report.waiting_for_prices)
            await self._publish(events)
        except LostLeadership:
            self.leadership.lost()
            self._loaded_epoch = None
            return
        except StoreError as exc:
            log.error("reconcile_failed", error=str(exc))
            return
        duration_s = time.monotonic() - started
        if report.polled:
            self.soc_history.observe(car.reading for car in self.reconciler.cars.values())
        self.metrics.add(
            report,
            duration_s=duration_s,
            vehicles=len(self.reconciler.cars),
            statuses=self.reconciler.status_counts(),
        )
        self.metrics.set_schedules(
            car.record.schedule for car in self.reconciler.cars.values() if car.record is not None
        )
        self._progress_mono = time.monotonic()
        if report.polled or report.replanned or report.started or report.stopped:
            log.info(
                "reconcile_done",
                vehicles=len(self.reconciler.cars),
                polled=report.polled,
                replanned=report.replanned,
                started=report.started,
                stopped=report.stopped,
                verified=report.verified,
                duration_ms=round(duration_s * 1000, 1),
            )

    # -- notifications -----------------------------------------------------------------------

    def _facts(self, *, handled_at: datetime | None = None) -> list[CarFacts]:
        return [
            CarFacts(
                vehicle_id=vid,
                user_id=car.plan.user_id,
                plan=car.plan,
                record=car.record,
                soc_percent=car.reading.soc_percent if car.reading else None,
                charge_limit_percent=car.reading.charge_limit_percent if car.reading else None,
                plugged_in=car.reading.is_plugged_in if car.reading else None,
                charging_location_id=car.reading.charging_location_id if car.reading else None,
            )
            for vid, car in self.reconciler.cars.items()
            if handled_at is None or car.handled_at == handled_at
        ]

    def _detect_on_load(self, epoch: int) -> list[NotifyEvent]:
        """On taking the lease: say so, and look at the loaded schedules before the first step
        replans them (a deadline that passed while no one led is checked here)."""
        if self.notifications is None:
            return []
        now = self.clock.now()
        return [
            *self.detector.leader(epoch, self.leadership.holder, now=now),
            *self.detector.cars(self._facts(), now=now),
        ]

    def _detect_after_step(self, now: datetime, waiting: list[str]) -> list[NotifyEvent]:
        if self.notifications is None:
            return []
        zone = get_zone(self.deps.settings.prices.zone).name
        return [
            # Only the cars this step handled changed.
            *self.detector.cars(self._facts(handled_at=now), now=now),
            # Before the first price refresh every car waits: that is no alarm.
            *self.detector.prices_missing(
                zone, waiting if self._prices_next_at is not None else [], now=now
            ),
            *self.detector.vendors(self.deps.enode.gates.paused_vendors, now=now),
        ]

    async def _publish(self, events: list[NotifyEvent]) -> None:
        if not events or self.notifications is None:
            return
        try:
            if await self.notifications.publish(events, now=self.clock.now()):
                self._notify_wake.set()
        except StoreError as exc:
            # The detector forgets nothing it must send: the same ids come up again later.
            log.warning("notify_outbox_failed", error=str(exc))

    async def _deliver_loop(self) -> None:
        """Deliver from the outbox apart from the reconcile loop: a slow target delays no step."""
        assert self.notifications is not None
        while not self.stop_event.is_set():
            self._notify_wake.clear()
            if self._leading():
                try:
                    await self.notifications.deliver_due(now=self.clock.now())
                except StoreError as exc:
                    log.warning("notify_delivery_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._notify_wake.wait(), timeout=NOTIFY_POLL_S)

    async def _renew_until_jobs_start(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_ttl_s / 3)
            await self.leadership.renew()

    async def _sleep_until(self, when: datetime) -> None:
        delay_s = (when - self.clock.now()).total_seconds()
        if delay_s <= 0 or self._wake.is_set():
            await asyncio.sleep(0)  # a loop that never waits would starve every other task
            return
        sleeper = asyncio.create_task(self.clock.sleep(delay_s))
        waker = asyncio.create_task(self._wake.wait())
        stopper = asyncio.create_task(self.stop_event.wait())
        _, pending = await asyncio.wait({sleeper, waker, stopper}, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()

    # -- jobs --------------------------------------------------------------------------------

    def _jobs(self) -> JobSet:
        return JobSet(
            renew_lease=self.renew_lease,
            refresh_plans=self.refresh_plans,
            refresh_prices=self.refresh_prices,
            safety_tick=self.safety_tick,
            watchdog=self.watchdog,
        )

    async def renew_lease(self) -> None:
        was = self.leadership.epoch
        await self.leadership.renew()
        if self.leadership.epoch != was:
            self._wake.set()

    async def refresh_plans(self) -> None:
        if not self._leading():
            return
        try:
            changed = await self.reconciler.refresh_plans(now=self.clock.now())
        except StoreError as exc:
            log.warning("plans_refresh_failed", error=str(exc))
            return
        if changed:
            log.info("plans_changed", changed=changed)
            self._wake.set()
        await self._detect_relinks()

    async def _detect_relinks(self) -> None:
        if self.notifications is None or not self._leading():
            return
        try:
            users = await self.deps.store.users.list_users()
        except StoreError as exc:
            log.warning("notify_users_failed", error=str(exc))
            return
        await self._publish(self.detector.users(users, now=self.clock.now()))

    async def request_replan(self, vehicle_id: str) -> None:
        """The API or a webhook changed a plan or a car: pick up plans now and wake the loop."""
        await self.refresh_plans()
        self._wake.set()

    async def request_reconcile(self, vehicle_id: str) -> None:
        """Re-read the car's override and poll it at once (after an override or a webhook)."""
        if not self._leading():
            return
        try:
            await self.reconciler.reconcile_soon(vehicle_id, now=self.clock.now())
        except StoreError as exc:
            log.warning("reconcile_request_failed", vehicle_id=vehicle_id, error=str(exc))
            return
        self._wake.set()

    async def refresh_prices(self) -> None:
        now = self.clock.now()
        if self._leading():
            # intensity forecasts ride on the price job's tick: no job of their own to schedule
            await self._refresh_co2(now)
        if not self._leading() or (self._prices_next_at is not None and now < self._prices_next_at):
            return
        try:
            outcome = await self.price_job.run_once(now)
        except StoreError as exc:
            log.warning("prices_refresh_failed", error=str(exc))
            return
        self._prices_next_at = outcome.next_run_at
        self.reconciler.prices_fetched()
        if outcome.changed_slots:
            self._wake.set()

    async def _refresh_co2(self, now: datetime) -> None:
        if self.co2_job is None or (self._co2_next_at is not None and now < self._co2_next_at):
            return
        try:
            changed = await self.co2_job.run_once(now)
        except StoreError as exc:
            log.warning("co2_refresh_store_failed", error=str(exc))
            return
        self._co2_next_at = self.co2_job.next_run_after(now)
        if changed:
            self._wake.set()

    async def safety_tick(self) -> None:
        self._wake.set()

    async def watchdog(self) -> None:
        # READY=1 comes first: the API app takes a moment to build after the jobs start.
        if self.stop_event.is_set() or not self.ready_event.is_set():
            return
        stalled_s = time.monotonic() - self._progress_mono
        if stalled_s <= self.settings.stall_timeout_s:
            self.notifier.watchdog()
            return
        log.error("reconcile_stalled", stalled_s=round(stalled_s, 1))
        self.stop(EXIT_STALLED)

    def _watchdog_interval_s(self) -> float:
        systemd_s = self.notifier.watchdog_interval_s
        return min(systemd_s / 2, 10.0) if systemd_s else 10.0

    # -- health ------------------------------------------------------------------------------

    def _leading(self) -> bool:
        return self.leadership.epoch is not None

    def _ready(self) -> tuple[bool, dict[str, object]]:
        stalled_s = time.monotonic() - self._progress_mono
        ok = self.ready_event.is_set() and stalled_s <= self.settings.stall_timeout_s
        return ok, {"leader": self._leading(), "vehicles": len(self.reconciler.cars)}

    def _render(self) -> str:
        return render(self.metrics, self.deps.enode.metrics)
