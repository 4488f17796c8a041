"""One fleet run: the sim and the real daemon as processes on one scaled clock, seen from outside.

Reuses the end-to-end harness (tests/e2e/harness.py) for the processes. The daemon's CPU time
and peak RSS come from /proc of its process; the request counts, gates, commands and goals from
the sim's request log and control API; the schedules from the daemon's `plan_replanned` events.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

from benchmarks import fleet_measure as measure
from benchmarks.fleet_scenario import SESSIONS, START, FleetCar, build_cars, read_sessions
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.records import PlanRecord, UserTokens
from enode_scheduler.store import open_store
from tests.e2e.harness import (
    Daemon,
    Sim,
    Timeline,
    create_pg_database,
    drop_pg_database,
    write_config,
)

SCHEDULER: dict[str, Any] = {"plans_refresh_s": 60, "deadline_margin_s": 900}
POLL_UNPLUGGED_S = 3600.0  # the daemon's default, used to judge which goals were feasible
MARGIN_S = 900.0
# One vendor's cloud answers 429 for half an hour, an hour into the run.
RATE_LIMITED_VENDOR = "BMW"
OUTAGE_AFTER_S = 3600.0
OUTAGE_S = 1800.0
RETRY_AFTER_S = 300.0
COMMAND_DELAY_S = 5.0
DRAIN_EVERY_S = 1.0  # wall seconds between reads of the sim's request log


@dataclass
class Observed:
    """What the run saw, before it is turned into figures."""

    cars: list[FleetCar]
    run: measure.Span
    speed: float
    log: list[dict[str, Any]] = field(default_factory=list)
    soc_at_plug_out: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    db_size_mb: float = 0.0
    wall_s: float = 0.0
    late_events_s: float = 0.0
    replans: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run_fleet(
    *,
    vehicles: int,
    hours: float,
    speed: float,
    postgres_url: str | None,
    sessions: Path = SESSIONS,
    keep_log: Path | None = None,
    start: datetime = START,
) -> Observed:
    """Run `vehicles` cars for `hours` sim hours; `postgres_url` (a server) or SQLite."""
    cars = build_cars(read_sessions(sessions), vehicles)
    run = measure.Span(start, start + timedelta(hours=hours))
    database_url = create_pg_database(postgres_url) if postgres_url else None
    try:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            try:
                return await _run(cars, run, speed, database_url, Path(tmp))
            finally:
                if keep_log is not None and (Path(tmp) / "daemon.log").exists():
                    shutil.copy(Path(tmp) / "daemon.log", keep_log)
    finally:
        if postgres_url and database_url:
            drop_pg_database(postgres_url, database_url)


async def _run(
    cars: list[FleetCar], run: measure.Span, speed: float, database_url: str | None, tmp: Path
) -> Observed:
    # Setting up takes wall time: the shared clock reaches START once the fleet is in place
    # and the daemon has started (its start-up pass over every car happens before START).
    setup_s = 10.0 + len(cars) * 0.02
    timeline = Timeline(run.start, speed, anchor_unix=time.time() + setup_s)
    sim = Sim(
        timeline,
        command_delay_s=COMMAND_DELAY_S,
        extra_args=("--request-log-size", "500000", "--no-log-bodies"),
    )
    daemon: Daemon | None = None
    observed = Observed(cars, run, speed)
    try:
        async with httpx.AsyncClient(base_url=sim.info["control_url"], timeout=60) as control:
            homes = await _add_cars(control, cars, at=run.start)
            await _seed(control, cars, homes, database_url, tmp, timeline)
            config = write_config(
                tmp / "config.toml", sim, state_dir=tmp, database_url=database_url,
                scheduler=SCHEDULER,
            )  # fmt: skip
            # The global pace limit is per sim second; the default suits one household.
            text = config.read_text().replace("max_requests_per_s = 50", "max_requests_per_s = 500")
            config.write_text(text)
            daemon = Daemon(config, timeline, tmp / "daemon.log")
            await _wait_for(timeline, run.start)
            await _observe(control, daemon, observed, timeline)
            observed.peak_rss_mb = peak_rss_mb(daemon.proc.pid)
            observed.db_size_mb = await _db_size_mb(database_url, tmp)
            daemon.terminate()
            observed.log.extend(await _drain(control, since=_last_seq(observed.log)))
            observed.replans = daemon.events("plan_replanned")
            observed.extensions = daemon.events("window_extended")
    finally:
        if daemon is not None and daemon.proc.poll() is None:
            daemon.kill()
        sim.stop()
    return observed


async def _gather_limited(calls: list[Callable[[], Awaitable[Any]]], limit: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def _add_cars(
    control: httpx.AsyncClient, cars: list[FleetCar], *, at: datetime
) -> dict[str, str | None]:
    """Add the cars to the sim; returns each car's charging location (its owner's home)."""

    def body(car: FleetCar) -> dict[str, Any]:
        plugged = car.plug_in <= at < car.plug_out
        return {
            "user_id": car.user_id, "id": car.vehicle_id, "vendor": car.vendor,
            "capacity_kwh": car.capacity_kwh, "max_charge_kw": car.power_kw,
            "efficiency": 0.9, "soc_percent": car.soc_percent, "charge_limit_percent": 100.0,
            "plugged_in": plugged, "charging": False,
            "reasons": [] if plugged else ["NOT_PLUGGED_IN"],
        }  # fmt: skip

    homes: dict[str, str | None] = {}

    async def add(car: FleetCar) -> None:
        response = await control.post("/vehicles", json=body(car))
        response.raise_for_status()
        homes[car.vehicle_id] = response.json()["charging_location_id"]

    await _gather_limited([lambda c=car: add(c) for car in cars])  # type: ignore[misc]
    return homes


async def _seed(
    control: httpx.AsyncClient,
    cars: list[FleetCar],
    homes: dict[str, str | None],
    database_url: str | None,
    tmp: Path,
    timeline: Timeline,
) -> None:
    """Tokens for every user and a one-off plan per car, written through the daemon's store."""
    clock = timeline.clock()
    users = sorted({c.user_id for c in cars})

    async def issue(user_id: str) -> dict[str, Any]:
        response = await control.post(f"/users/{user_id}/token")
        response.raise_for_status()
        issued: dict[str, Any] = response.json()
        return issued

    tokens = await _gather_limited([lambda u=u: issue(u) for u in users])  # type: ignore[misc]
    settings = DatabaseSettings(url=database_url, auto_migrate=True)
    async with open_store(settings, state_dir=tmp, clock=clock) as store:
        for user_id, issued in zip(users, tokens, strict=True):
            expires = clock.now() + timedelta(seconds=issued["expires_in_s"])
            await store.tokens.save_tokens(
                user_id, UserTokens(issued["access_token"], issued["refresh_token"], expires)
            )
        for car in cars:
            await store.plans.put_plan(
                PlanRecord(vehicle_id=car.vehicle_id, user_id=car.user_id,
                           target_soc_percent=car.target_percent, deadline=car.plug_out,
                           location_id=homes[car.vehicle_id])
            )  # fmt: skip


async def _wait_for(timeline: Timeline, when: datetime) -> None:
    wait_s = (when - timeline.clock().now()).total_seconds() / timeline.speed
    await asyncio.sleep(max(0.0, wait_s))


Event = tuple[datetime, str, str]  # (sim time, action, vehicle id or "")


def _events(cars: list[FleetCar], run: measure.Span) -> list[Event]:
    events: list[Event] = [(run.start + timedelta(seconds=OUTAGE_AFTER_S), "fault", "")]
    for car in cars:
        if run.start < car.plug_in < run.end and car.plug_in < car.plug_out:
            events.append((car.plug_in, "plug", car.vehicle_id))
        if run.start < car.plug_out <= run.end and car.plug_in < car.plug_out:
            events.append((car.plug_out, "unplug", car.vehicle_id))
    return sorted(events)


async def _observe(
    control: httpx.AsyncClient, daemon: Daemon, observed: Observed, timeline: Timeline
) -> None:
    clock, pid = timeline.clock(), daemon.proc.pid
    events = _events(observed.cars, observed.run)
    cpu_before, wall_before = cpu_s(pid), time.monotonic()
    next_drain = wall_before
    while (now := clock.now()) < observed.run.end:
        if daemon.proc.poll() is not None:
            raise RuntimeError(f"the daemon exited early (see {daemon.log_path})")
        due = [e for e in events if e[0] <= now]
        events = events[len(due) :]
        if due:
            observed.late_events_s = max(observed.late_events_s, (now - due[0][0]).total_seconds())
            await _gather_limited([lambda e=e: _fire(control, e, observed) for e in due])  # type: ignore[misc]
        if time.monotonic() >= next_drain:
            observed.log.extend(await _drain(control, since=_last_seq(observed.log)))
            next_drain = time.monotonic() + DRAIN_EVERY_S
        await asyncio.sleep(0.05)
    observed.cpu_s = cpu_s(pid) - cpu_before
    observed.wall_s = time.monotonic() - wall_before


async def _fire(control: httpx.AsyncClient, event: Event, observed: Observed) -> None:
    _, action, vid = event
    if action == "fault":
        fault = {"kind": "rate_limit", "vendor": RATE_LIMITED_VENDOR, "duration_s": OUTAGE_S,
                 "retry_after_s": RETRY_AFTER_S}  # fmt: skip
        response = await control.post("/faults", json=fault)
    else:
        response = await control.post(f"/vehicles/{vid}/{action}")
    response.raise_for_status()
    if action == "unplug":
        observed.soc_at_plug_out[vid] = float(response.json()["soc_percent"])


def _last_seq(log: list[dict[str, Any]]) -> int:
    return int(log[-1]["seq"]) if log else 0


async def _drain(control: httpx.AsyncClient, *, since: int) -> list[dict[str, Any]]:
    response = await control.get("/log", params={"since": since, "path_prefix": "/vehicles"})
    response.raise_for_status()
    entries: list[dict[str, Any]] = response.json()
    return entries


async def _db_size_mb(database_url: str | None, tmp: Path) -> float:
    if database_url is None:
        return _sqlite_size_mb(tmp)
    url = make_url(database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        size = await conn.fetchval("SELECT pg_database_size($1)", url.database)
    finally:
        await conn.close()
    return float(size) / 2**20


def _sqlite_size_mb(tmp: Path) -> float:
    """The database file with its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in tmp.glob("enode-scheduler.db*")) / 2**20
