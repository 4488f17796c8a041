"""The daemon's lifecycle: start, reconcile until told to stop, stop within the grace time.

Start-up order: take the SQLite lock (on PostgreSQL: register as a replica), claim this process's
share of the shards, load their cars from the database, reconcile once before anything else,
then start the jobs, the health endpoints and tell systemd we are ready. SIGTERM/SIGINT (when
installed) stop taking new work, let the current step finish within `shutdown_grace_s`, release
every shard and close everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections import Counter
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from enode_scheduler.api.web.history import SocHistory
from enode_scheduler.api.wiring import api_for
from enode_scheduler.bootstrap import Deps, make_co2_job, make_price_job, make_reconciler
from enode_scheduler.daemon.failures import FailureState
from enode_scheduler.daemon.jobs import JobSet, build_scheduler, stop_scheduler
from enode_scheduler.daemon.listener import throttle_accept_errors
from enode_scheduler.daemon.metrics import DaemonMetrics, render
from enode_scheduler.daemon.notify import Notifier
from enode_scheduler.daemon.ownership import ShardOwnership, sqlite_lock
from enode_scheduler.daemon.server import bound_port, make_server
from enode_scheduler.daemon.wakeups import WakeRelay
from enode_scheduler.exceptions import EnodeError, LostLeadership, StoreError
from enode_scheduler.notify.detect import CarFacts, Detector
from enode_scheduler.records import NotifyEvent
from enode_scheduler.service import StepReport
from enode_scheduler.zones import get_zone

log = structlog.get_logger()

# Backoff of a failed step (wall seconds): doubling from the base, capped (and never above the
# safety tick), so work resumes within seconds of the database's return.
RETRY_BASE_S = 0.5
RETRY_CAP_S = 10.0

# A burst of failed requests in one step asks /health/vendors early (at most this often).
ERROR_BURST = 5
VENDOR_RECHECK_MIN_S = 30.0

EXIT_STALLED = 3
# A background task (the reconcile loop, the API server) ended unexpectedly; systemd restarts us.
EXIT_TASK_CRASHED = 4
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
        self.ownership = ShardOwnership(
            deps.store.shards,
            holder=holder or default_holder(),
            ttl_s=self.settings.lease_ttl_s,
            total=self.settings.shards,
            # The SQLite file lock makes this the only process: it takes every shard.
            claim_all=deps.store.dialect == "sqlite",
        )
        # Commands are fenced by the shard of their user, sites included (the reconciler's rule).
        self.ownership.key_of = self.reconciler.shard_of_user
        self.metrics = DaemonMetrics(
            holder=self.ownership.holder, shards_total=self.settings.shards
        )
        self.soc_history = SocHistory()
        self.notifications = deps.notifications
        self.detector = Detector()
        self._notify_wake = asyncio.Event()
        self.speed = float(getattr(self.clock, "speed", 1.0))
        self.stop_event = asyncio.Event()
        self.ready_event = asyncio.Event()
        self._wake = asyncio.Event()
        self._retry_now = asyncio.Event()
        # The shards (-> epoch) whose cars the reconciler holds; the coordinator's shard-0 epoch.
        self._loaded: dict[int, int] | None = None
        self._coordinator_epoch: int | None = None
        self._progress_mono = time.monotonic()
        self.failures = FailureState(
            base_s=RETRY_BASE_S, cap_s=min(RETRY_CAP_S, self.settings.safety_tick_s)
        )
        self._prices_next_at: datetime | None = None
        self._vendors_checked_mono = 0.0
        self._co2_next_at: datetime | None = None
        self.exit_code = 0
        self.health_port: int | None = None
        # The API's triggers, relayed to the replica that runs the car (PostgreSQL).
        self.wakeups = WakeRelay(
            deps.store.wakes, replan=self.request_replan, reconcile=self.request_reconcile
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until `stop()` (or a signal); returns the process exit code."""
        # One line per job run or HTTP request drowns the daemon's own events.
        # Apprise's own lines may name a target's URL, which holds credentials.
        for noisy in ("apscheduler", "httpx", "apprise"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        async with AsyncExitStack() as stack:
            await self.open(stack)
            # The first pass over a big fleet can outlast the lease: keep it renewed meanwhile.
            renewing = asyncio.create_task(self._renew_until_jobs_start(), name="lease-renew")
            try:
                await self.check_vendors()  # no first pass into a vendor's known outage
                await self._step()  # reconcile before anything else after a (re)start
            finally:
                renewing.cancel()
            await self.refresh_prices()
            running_jobs: set[asyncio.Task[None]] = set()
            scheduler = build_scheduler(
                self._jobs(),
                self.settings,
                speed=self.speed,
                watchdog_s=self._watchdog_interval_s(),
                running=running_jobs,
            )
            scheduler.start()
            stack.push_async_callback(stop_scheduler, scheduler, running_jobs)
            await stack.enter_async_context(self.wakeups.running())
            await self._start_health(stack)
            loop_task = asyncio.create_task(self._loop(), name="reconcile-loop")
            loop_task.add_done_callback(self._task_ended)
            if self.notifications is not None:
                delivering = asyncio.create_task(self._deliver_loop(), name="notify-delivery")
                delivering.add_done_callback(self._task_ended)
                stack.callback(delivering.cancel)
            self.notifier.ready()
            self.ready_event.set()
            log.info(
                "daemon_started",
                holder=self.ownership.holder,
                leader=self._coordinating(),
                shards_owned=len(self.ownership.owned),
                shards_total=self.ownership.total,
                vehicles=len(self.reconciler.cars),
                health_port=self.health_port,
            )
            await self.stop_event.wait()
            self.notifier.stopping()
            await self._drain(loop_task)
            await self.ownership.release()
        log.info("daemon_stopped", exit_code=self.exit_code)
        return self.exit_code

    async def open(self, stack: AsyncExitStack) -> None:
        """Take the lock and the lease and guard the sends, undone by `stack`: every start's first
        part (`run`, and `daemon.stepped` for the demo)."""
        if self.deps.store.dialect == "sqlite":
            stack.enter_context(sqlite_lock(self._sqlite_path()))
            # The file lock proves the last holder is gone: no need to wait out its leases.
            await self.ownership.clear_stale()
        # Keys that cannot read the stored tokens would fail every user one by one: refuse
        # to start instead (ConfigError: `run` exits 2 with one line naming the key source).
        await self.deps.store.key_check.verify(self.deps.store.cipher)
        self._install_signals(stack)
        # Posts of start/stop check their shard's lease last thing before they leave (fencing
        # at send time); the CLI's manual commands use a client without this guard.
        self.deps.enode.guard_commands(self.ownership.guard_user)
        stack.callback(self.deps.enode.guard_commands, None)
        if self.deps.store.dialect != "sqlite":  # SQLite: the file lock allows one process
            await self.ownership.check_peers()
        await self.renew_lease()

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
            request_replan=self.wakeups.request_replan,
            request_reconcile=self.wakeups.request_reconcile,
            soc_history=self.soc_history,
            health=self.reconciler.health,
        )
        api = self.deps.settings.api
        server = make_server(
            app, listen, max_connections=api.max_connections, header_timeout_s=api.header_timeout_s
        )
        throttle_accept_errors(asyncio.get_running_loop())
        task = asyncio.create_task(server.serve(), name="api-server")
        task.add_done_callback(self._task_ended)

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

    def _task_ended(self, task: asyncio.Task[object]) -> None:
        """A background task must never end on its own: log it at once and exit (code 4)."""
        if self.stop_event.is_set() or task.cancelled():
            return
        exc = task.exception()
        log.error(
            "task_crashed", task=task.get_name(),
            error=f"{type(exc).__name__}: {exc}" if exc else "returned",
        )  # fmt: skip
        if exc is not None:
            log.debug("task_crashed_traceback", task=task.get_name(), exc_info=exc)
        self.stop(EXIT_TASK_CRASHED)

    def _sqlite_path(self) -> Path:
        database = self.deps.store.engine.url.database
        return Path(database or "enode-scheduler.db").resolve()

    # -- the reconcile loop ------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self.stop_event.is_set():
            self._wake.clear()
            self._retry_now.clear()
            await self._step()
            if self.stop_event.is_set():
                return
            if self.failures.failing:
                # Not at once and not on the next wake-up: a failed step waits its backoff.
                await self._pause(self.failures.delay_s())
                continue
            await self._sleep_until(self.next_step_at(self.clock.now()))

    def next_step_at(self, now: datetime) -> datetime:
        """When the next reconcile step is due, after one at `now`."""
        if self._owning():
            return self.reconciler.next_wake(now=now)
        # A standby waits for the lease job's wake-up, not for cars it does not run.
        return now + timedelta(seconds=self.settings.safety_tick_s)

    @property
    def wake_requested(self) -> bool:
        """A job, the API or a recovery asked for a step before the next one is due."""
        return self._wake.is_set()

    async def step(self) -> None:
        """One reconcile step now, outside the loop (`daemon.stepped`, the demo's driver)."""
        self._wake.clear()
        await self._step()

    async def _step(self) -> None:
        epochs = self.ownership.epochs()
        self._update_ownership_metrics()
        if not epochs:
            if self._loaded is not None:
                self.reconciler.disown()  # cars of shards no longer ours: not ours to touch
                self._loaded = None
            if self.ownership.reachable:
                self._succeeded()  # a standby that can ask is healthy
            else:
                self._failed("lease", StoreError("the shard leases cannot be renewed"))
            return
        started = time.monotonic()
        loaded = epochs != self._loaded
        events: list[NotifyEvent] = []
        try:
            if loaded:
                gained = self._loaded is None or any(
                    self._loaded.get(s) != e for s, e in epochs.items()
                )
                if gained:
                    # Gates a vendor closed before a restart or a takeover stay closed.
                    self.deps.enode.gates.restore(await self.deps.store.gates.load_gates())
                # Cars of lost shards leave; those of gained shards load with a catch-up replan.
                await self.reconciler.own(epochs, now=self.clock.now())
                self._loaded = epochs
                events += self._detect_on_load()
            now = self.clock.now()
            try:
                report = await self.reconciler.step(now=now, epochs=self.ownership.epoch_for)
            finally:
                await self._save_gates()
            events += self._detect_after_step(now, report.waiting_for_prices)
            await self._publish(events)
        except LostLeadership as exc:
            self.ownership.lost(exc.shards)
            self._update_ownership_metrics()
            return
        except Exception as exc:  # the one place a step's failure is handled
            self._failed("reconcile", exc)
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
        self.metrics.car_statuses = Counter(h.status.value for h in self.reconciler.health())
        self.metrics.set_schedules(
            car.record.schedule for car in self.reconciler.cars.values() if car.record is not None
        )
        if self._errors_burst(report):
            await self.check_vendors()
        self._succeeded(caught_up=loaded)
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

    async def _save_gates(self) -> None:
        """Store the gates the step's 429s closed (or its successes reset); kept for the next
        step when the database fails (the step's own failure is what gets reported)."""
        gates = self.deps.enode.gates
        changes = gates.take_changes()
        try:
            await self.deps.store.gates.save_gates(changes)
        except StoreError:
            gates.keep_changes(changes)

    def _failed(self, what: str, exc: Exception) -> None:
        """A step failed: the fleet is caught up once it works again; logged once per interval."""
        if self.failures.failed(exc, now_mono=time.monotonic()):
            expected = isinstance(exc, StoreError)
            log.error(
                "reconcile_failed", stage=what, error=f"{type(exc).__name__}: {exc}",
                failures=self.failures.count, database=expected,
            )  # fmt: skip
            if not expected:
                log.debug("reconcile_failed_traceback", exc_info=exc)

    def _succeeded(self, *, caught_up: bool = False) -> None:
        self._progress_mono = time.monotonic()
        episode = self.failures.succeeded(now_mono=self._progress_mono)
        if episode is not None:
            log.info("reconcile_recovered", failures=episode[0], outage_s=round(episode[1], 1))
            if not caught_up:
                # Windows may have passed while nothing acted: replan every car from a reading.
                self.reconciler.catch_up()
            self._wake.set()

    async def _pause(self, delay_s: float) -> None:
        """Wait `delay_s` wall seconds, or until the lease is back (or asked to stop).

        Only these end the wait early: the jobs' wake-ups (the safety tick, new plans) come
        often enough to turn a backoff back into a tight loop.
        """
        stop = asyncio.create_task(self.stop_event.wait())
        retry = asyncio.create_task(self._retry_now.wait())
        await asyncio.wait({stop, retry}, timeout=delay_s, return_when="FIRST_COMPLETED")
        for task in (stop, retry):
            task.cancel()

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

    def _detect_on_load(self) -> list[NotifyEvent]:
        """On gaining shards: look at the loaded schedules before the first step replans them (a
        deadline that passed while no one owned them is checked here); on becoming the
        coordinator, say so."""
        if self.notifications is None:
            return []
        now = self.clock.now()
        events = self.detector.cars(self._facts(), now=now)
        epoch = self.ownership.epoch_for(0)
        if epoch is not None and epoch != self._coordinator_epoch:
            self._coordinator_epoch = epoch
            events += self.detector.leader(epoch, self.ownership.holder, now=now)
        return events

    def _detect_after_step(self, now: datetime, waiting: list[str]) -> list[NotifyEvent]:
        if self.notifications is None:
            return []
        # Only the cars this step handled changed.
        events = self.detector.cars(self._facts(handled_at=now), now=now)
        if not self._coordinating():
            return events  # the fleet-wide events are the coordinator's, said once
        zone = get_zone(self.deps.settings.prices.zone).name
        return [
            *events,
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
            if self._coordinating():
                try:
                    await self.notifications.deliver_due(now=self.clock.now())
                except StoreError as exc:
                    log.warning("notify_delivery_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._notify_wake.wait(), timeout=NOTIFY_POLL_S)

    async def _renew_until_jobs_start(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_ttl_s / 3)
            await self.renew_lease()

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
            check_vendors=self.check_vendors,
        )

    async def renew_lease(self) -> None:
        """Heartbeat and claim this replica's fair share of the shards (every TTL/3)."""
        reachable = self.ownership.reachable
        self.ownership.cars = len(self.reconciler.cars)
        changed = await self.ownership.renew()
        self._update_ownership_metrics()
        self._share_pace()
        if changed:
            self._wake.set()
        if changed or self.ownership.reachable != reachable:
            self._retry_now.set()  # the database answers again: do not sit out the backoff

    def _share_pace(self) -> None:
        """`enode.max_requests_per_s` is the fleet's: this replica's part follows its shards."""
        total = self.deps.settings.enode.max_requests_per_s
        owned = len(self.ownership.owned)
        self.deps.enode.set_pace(total * max(owned, 1) / self.ownership.total)

    def _update_ownership_metrics(self) -> None:
        self.metrics.leader = self._coordinating()
        self.metrics.shards_owned = len(self.ownership.owned)
        self.metrics.shards_gained = self.ownership.gained_total
        self.metrics.shards_lost = self.ownership.lost_total

    async def refresh_plans(self) -> None:
        if not self._owning():
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
        if self.notifications is None or not self._coordinating():
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
        """Re-read the car's override and poll it at once (after an override or a webhook); a car
        of another replica's shard is that replica's (the reconciler does not know it)."""
        if not self._owning():
            return
        try:
            await self.reconciler.reconcile_soon(vehicle_id, now=self.clock.now())
        except StoreError as exc:
            log.warning("reconcile_request_failed", vehicle_id=vehicle_id, error=str(exc))
            return
        self._wake.set()

    async def refresh_prices(self) -> None:
        """The coordinator fetches prices (and intensity) once for the fleet; the other replicas
        notice new slots in the database."""
        now = self.clock.now()
        if not self._coordinating():
            if self._owning():
                await self._follow_prices(now)
            return
        # intensity forecasts ride on the price job's tick: no job of their own to schedule
        await self._refresh_co2(now)
        if self._prices_next_at is not None and now < self._prices_next_at:
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

    async def _follow_prices(self, now: datetime) -> None:
        try:
            changed = await self.reconciler.follow_stored_slots(now=now)
        except StoreError as exc:
            log.warning("prices_follow_failed", error=str(exc))
            return
        if changed:
            self._wake.set()

    async def check_vendors(self) -> None:
        """Read /health/vendors: a vendor in OUTAGE gets no request until it is READY again.

        Every replica that owns shards asks (one request per interval each): the pause is this
        process's own state, not stored."""
        if not self._owning():
            return
        self._vendors_checked_mono = time.monotonic()
        was = self.deps.enode.gates.paused_vendors
        try:
            await self.deps.enode.vendor_health()
        except EnodeError as exc:
            log.warning("vendor_health_failed", error=type(exc).__name__)
            return
        paused = self.deps.enode.gates.paused_vendors
        if paused != was:
            log.warning(
                "vendor_outage",
                paused=sorted(paused),
                ended=sorted(was - paused),
                began=sorted(paused - was),
            )
            self._wake.set()

    def _errors_burst(self, report: StepReport) -> bool:
        """Many failed requests in one step: maybe a vendor is down; ask Enode (at most every
        VENDOR_RECHECK_MIN_S)."""
        errors = report.poll_errors + report.send_failures
        since_s = time.monotonic() - self._vendors_checked_mono
        return errors >= ERROR_BURST and since_s >= VENDOR_RECHECK_MIN_S

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
        if stalled_s > self.settings.stall_timeout_s:
            log.error("reconcile_stalled", stalled_s=round(stalled_s, 1))
            self.stop(EXIT_STALLED)
            return
        if stalled_s <= self._grace_s():
            self.notifier.watchdog()
            return
        # No step has worked for a while: systemd may restart us, and a standby should lead.
        if self.failures.withhold_watchdog():
            log.error(
                "watchdog_withheld", stalled_s=round(stalled_s, 1), leader=self._coordinating()
            )
        # Another replica (PostgreSQL) may be able to work where this process cannot; with
        # SQLite there is no other process, and an idle owner would only look like a standby.
        if self.ownership.leases and self.deps.store.dialect != "sqlite":
            log.warning(
                "leadership_given_up", holder=self.ownership.holder,
                shards=len(self.ownership.leases),
            )  # fmt: skip
            await self.ownership.release()

    def _grace_s(self) -> float:
        """Seconds without a working step before the watchdog starves (well below the stall)."""
        return min(self.settings.watchdog_grace_s, self.settings.stall_timeout_s / 2)

    def _watchdog_interval_s(self) -> float:
        systemd_s = self.notifier.watchdog_interval_s
        return min(systemd_s / 2, 10.0) if systemd_s else 10.0

    # -- health ------------------------------------------------------------------------------

    def _owning(self) -> bool:
        """Whether this process runs any cars now (holds an unexpired shard lease)."""
        return bool(self.ownership.owned)

    def _coordinating(self) -> bool:
        """Whether this process runs the fleet-wide jobs (it holds shard 0)."""
        return self.ownership.coordinator

    def _ready(self) -> tuple[bool, dict[str, object]]:
        stalled_s = time.monotonic() - self._progress_mono
        ok = (
            self.ready_event.is_set()
            and not self.failures.failing
            and self.ownership.reachable
            and stalled_s <= self._grace_s()
        )
        cars = len(self.reconciler.cars)
        detail: dict[str, object] = {
            # "leader" is kept for existing probes: it now means "is the coordinator".
            "leader": self._coordinating(),
            "vehicles": cars,
            "holder": self.ownership.holder,
            "shards_owned": len(self.ownership.owned),
            "shards_total": self.ownership.total,
            "cars": cars,
            "coordinator": self._coordinating(),
        }
        if self.failures.failing:
            detail["failing"] = self.failures.last_error
        return ok, detail

    def _render(self) -> str:
        return render(self.metrics, self.deps.enode.metrics)
