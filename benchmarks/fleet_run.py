"""One fleet run: the sim and the real daemon as processes on one scaled clock, seen from outside.

Reuses the end-to-end harness (tests/e2e/harness.py) for the processes. The daemons' CPU time
and peak RSS come from /proc of their processes; the request counts, gates, commands and goals
from the sim's request log and control API; the schedules from the daemons' `plan_replanned`
events; who owns which shard from the lease rows (benchmarks/fleet_leases.py). On PostgreSQL
several replicas may share the fleet, and one of them may be killed or paused on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
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
from benchmarks.fleet_leases import LeaseHistory, LeaseWatcher, Poll
from benchmarks.fleet_replicas import Replica, ReplicaFault, cpu_s
from benchmarks.fleet_scenario import (
    CHARGER_SHARE,
    CHARGER_VENDOR,
    SESSIONS,
    START,
    FleetCar,
    build_cars,
    read_sessions,
)
from enode_scheduler.config import DatabaseSettings, SchedulerSettings
from enode_scheduler.records import PlanRecord, UserTokens
from enode_scheduler.store import open_store
from tests.e2e.dbproxy import TcpProxy
from tests.e2e.harness import (
    Sim,
    Timeline,
    create_pg_database,
    drop_pg_database,
    write_config,
)

MARGIN_S = 900.0
SCHEDULER: dict[str, Any] = {"plans_refresh_s": 60, "deadline_margin_s": MARGIN_S}
POLL_UNPLUGGED_S = 3600.0  # the daemon's default, used to judge which goals were feasible
# One vendor's cloud answers 429 for half an hour, an hour into the run.
RATE_LIMITED_VENDOR = "BMW"
OUTAGE_AFTER_S = 3600.0
OUTAGE_S = 1800.0
RETRY_AFTER_S = 300.0
COMMAND_DELAY_S = 5.0
DRAIN_EVERY_S = 1.0  # wall seconds between reads of the sim's request log
SEED_WRITERS = 8  # concurrent writes of tokens and plans before the run


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
    margin_s: float = MARGIN_S  # the planner's deadline margin in this run
    sim_cpu_s: float = 0.0  # the fake Enode's, in the window: it shares the machine
    replicas: int = 1
    replica_cpu_s: list[float] = field(default_factory=list)
    replica_rss_mb: list[float] = field(default_factory=list)
    # The measured window on the wall clock (time.monotonic), to judge lease events by.
    window_wall_s: tuple[float, float] = (0.0, 0.0)
    leases: LeaseHistory | None = None  # PostgreSQL only
    strikes: list[Strike] = field(default_factory=list)
    # The sim's `client` of a request -> the replica that sent it (runs with tagged clients).
    client_replica: dict[str, int] = field(default_factory=dict)
    commands_sent: list[dict[str, Any]] = field(default_factory=list)  # `command_sent`, + replica


@dataclass
class Strike:
    """A replica killed or paused: when (wall and sim), which shards it owned, and when every one
    of them had a live owner other than it (None: not seen before the run ended)."""

    kind: str
    replica: int
    holder: str
    wall_s: float
    at: datetime
    shards: frozenset[int]
    taken: Poll | None = None

    def takeover_s(self) -> float | None:
        return None if self.taken is None else self.taken.wall_s - self.wall_s


async def run_fleet(
    *,
    vehicles: int,
    hours: float,
    speed: float,
    postgres_url: str | None,
    sessions: Path = SESSIONS,
    keep_log: Path | None = None,
    start: datetime = START,
    charger_share: float = CHARGER_SHARE,
    replicas: int = 1,
    fault: ReplicaFault | None = None,
    scheduler: dict[str, Any] | None = None,
    tag_clients: bool = False,
    setup_s: float | None = None,
) -> Observed:
    """Run `vehicles` cars for `hours` sim hours; `postgres_url` (a server) or SQLite.

    `replicas` daemons share the fleet (PostgreSQL only); `fault` strikes one of them; `scheduler`
    adds to the daemons' scheduler settings; `tag_clients` puts each replica behind a proxy of
    its own, so the sim's request log names the replica of every request (`client_replica`);
    `setup_s` is the wall time from now to the window's start (default_setup_s).
    """
    if replicas > 1 and postgres_url is None:
        raise ValueError("several replicas need PostgreSQL")
    cars = build_cars(read_sessions(sessions), vehicles, charger_share=charger_share)
    run = measure.Span(start, start + timedelta(hours=hours))
    database_url = create_pg_database(postgres_url) if postgres_url else None
    setup = Setup(replicas, fault, {**SCHEDULER, **(scheduler or {})}, tag_clients, setup_s)
    try:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            try:
                return await _run(cars, run, speed, database_url, Path(tmp), setup)
            finally:
                if keep_log is not None:
                    _keep_logs(Path(tmp), keep_log)
    finally:
        if postgres_url and database_url:
            drop_pg_database(postgres_url, database_url)


@dataclass(frozen=True)
class Setup:
    replicas: int
    fault: ReplicaFault | None
    scheduler: dict[str, Any]
    tag_clients: bool
    setup_s: float | None


def default_setup_s(vehicles: int, replicas: int) -> float:
    """Wall seconds to set the fleet up and start the daemons (their first pass over every car
    happens before the window): 20 ms a car covers it on a busy 2-core machine."""
    return 10.0 + vehicles * 0.02 + 5.0 * (replicas - 1)


def _keep_logs(tmp: Path, keep_log: Path) -> None:
    """The first replica's log at `keep_log`, the others beside it with their own names."""
    for log in sorted(tmp.glob("replica*.log")):
        name = keep_log.name if log.name == "replica0-0.log" else f"{keep_log.stem}-{log.name}"
        shutil.copy(log, keep_log.with_name(name))


async def _run(
    cars: list[FleetCar],
    run: measure.Span,
    speed: float,
    database_url: str | None,
    tmp: Path,
    setup: Setup,
) -> Observed:
    # Setting up takes wall time: the shared clock reaches START once the fleet is in place
    # and the daemons have started (their start-up pass over every car happens before START).
    setup_s = setup.setup_s or default_setup_s(len(cars), setup.replicas)
    began_s = time.time()
    timeline = Timeline(run.start, speed, anchor_unix=began_s + setup_s)
    sim = Sim(
        timeline,
        command_delay_s=COMMAND_DELAY_S,
        extra_args=("--request-log-size", "500000", "--no-log-bodies"),
    )
    group: list[Replica] = []
    proxies: list[TcpProxy] = []
    watching: asyncio.Task[None] | None = None
    margin_s = float(setup.scheduler["deadline_margin_s"])
    observed = Observed(cars, run, speed, margin_s=margin_s, replicas=setup.replicas)
    chargers = {c.charger_id: c.vehicle_id for c in cars if c.charger_id is not None}
    try:
        async with httpx.AsyncClient(base_url=sim.info["control_url"], timeout=60) as control:
            homes = await _add_cars(control, cars, at=run.start)
            await _seed(control, cars, homes, database_url, tmp, timeline)
            config = write_config(
                tmp / "config.toml", sim, state_dir=tmp, database_url=database_url,
                scheduler=setup.scheduler,
            )  # fmt: skip
            # The global pace limit is per sim second; the default suits one household.
            text = config.read_text().replace("max_requests_per_s = 50", "max_requests_per_s = 500")
            config.write_text(text)
            if setup.tag_clients:
                proxies = await _proxies(sim, setup.replicas)
            group = _replicas(config, sim, setup, proxies, observed)
            for replica in group:
                replica.start(timeline)
            watcher = None
            if database_url is not None:
                shards = int(setup.scheduler.get("shards", SchedulerSettings().shards))
                watcher = LeaseWatcher(database_url, timeline.clock(), shards=shards)
                observed.leases = watcher.history
                watching = asyncio.create_task(watcher.run(), name="lease-watcher")
            _say_setup(timeline, run.start, began_s=began_s, budget_s=setup_s)
            await _wait_for(timeline, run.start)
            sim_cpu_before = cpu_s(sim.proc.pid)
            await _observe(control, group, observed, timeline, chargers, setup)
            observed.sim_cpu_s = cpu_s(sim.proc.pid) - sim_cpu_before
            observed.db_size_mb = await _db_size_mb(database_url, tmp)
            for replica in group:
                replica.stop()
            observed.replica_cpu_s = [r.cpu_s() for r in group]
            observed.replica_rss_mb = [r.peak_rss_mb() for r in group]
            observed.cpu_s = sum(observed.replica_cpu_s)
            observed.peak_rss_mb = max(observed.replica_rss_mb)
            observed.log.extend(
                await _drain(control, since=_last_seq(observed.log), chargers=chargers)
            )
            observed.replans = [e for r in group for e in r.events("plan_replanned")]
            observed.extensions = [e for r in group for e in r.events("window_extended")]
            observed.commands_sent = [
                {**e, "replica": r.index} for r in group for e in r.events("command_sent")
            ]
    finally:
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        for replica in group:
            for daemon in replica.processes:
                if daemon.proc.poll() is None:
                    daemon.kill()
        for proxy in proxies:
            await proxy.refuse()
        sim.stop()
    return observed


def _say_setup(timeline: Timeline, start: datetime, *, began_s: float, budget_s: float) -> None:
    """On stderr: how long the fleet took to set up, and whether the daemons had their start-up
    time before the window (if not, their first pass over the fleet falls into it)."""
    spare_s = (start - timeline.clock().now()).total_seconds() / timeline.speed
    sys.stderr.write(
        f"fleet: set up in {time.time() - began_s:.0f} s of {budget_s:.0f} s; "
        f"daemons started, the window opens in {spare_s:.0f} s\n"
    )


async def _proxies(sim: Sim, count: int) -> list[TcpProxy]:
    """A proxy per replica towards the sim, each connecting from a loopback address of its own
    (127.0.0.10, .11, ...), which the sim logs as the request's `client`."""
    api = httpx.URL(sim.info["api_url"])
    assert api.port is not None
    proxies = []
    for index in range(count):
        proxy = TcpProxy(api.host, api.port, source_host=f"127.0.0.{10 + index}")
        await proxy.accept()
        proxies.append(proxy)
    return proxies


def _replicas(
    config: Path, sim: Sim, setup: Setup, proxies: list[TcpProxy], observed: Observed
) -> list[Replica]:
    """The replica slots; with proxies, each has a config of its own that reaches the sim
    through its proxy (the token and authorize URLs start with the API's too)."""
    if not proxies:
        return [Replica(i, config, config.parent) for i in range(setup.replicas)]
    api = httpx.URL(sim.info["api_url"])
    group = []
    for index, proxy in enumerate(proxies):
        own = config.with_name(f"config{index}.toml")
        own.write_text(
            config.read_text().replace(f"{api.host}:{api.port}", f"127.0.0.1:{proxy.port}")
        )
        host = f"127.0.0.{10 + index}"
        observed.client_replica[host] = index
        group.append(Replica(index, own, config.parent, client_host=host))
    return group


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
        # A car on a wallbox is plugged in through the charger, below.
        plugged = car.plug_in <= at < car.plug_out and car.charger_id is None
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
        if car.charger_id is None:
            return
        # Held (not enabled) like the other cars, which are plugged in but not charging.
        charger = {"user_id": car.user_id, "id": car.charger_id, "vendor": CHARGER_VENDOR,
                   "max_charge_kw": car.power_kw, "enabled": False}  # fmt: skip
        (await control.post("/chargers", json=charger)).raise_for_status()
        if car.plug_in <= at < car.plug_out:
            plug = {"vehicle_id": car.vehicle_id}
            (await control.post(f"/chargers/{car.charger_id}/plug", json=plug)).raise_for_status()

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
    # Concurrent writes: one at a time they went at ~90 a second on a busy machine (30,000 cars
    # took over 8 minutes to seed), which the shared clock had to wait for.
    settings = DatabaseSettings(url=database_url, auto_migrate=True, pool_size=SEED_WRITERS)
    async with open_store(settings, state_dir=tmp, clock=clock) as store:

        async def save(user_id: str, issued: dict[str, Any]) -> None:
            expires = clock.now() + timedelta(seconds=issued["expires_in_s"])
            await store.tokens.save_tokens(
                user_id, UserTokens(issued["access_token"], issued["refresh_token"], expires)
            )

        async def put(car: FleetCar) -> None:
            await store.plans.put_plan(
                PlanRecord(vehicle_id=car.vehicle_id, user_id=car.user_id,
                           target_soc_percent=car.target_percent, deadline=car.plug_out,
                           charger_id=car.charger_id, location_id=homes[car.vehicle_id])
            )  # fmt: skip

        # SQLite takes one writer at a time anyway.
        writers = SEED_WRITERS if database_url else 1
        saves = [lambda u=u, i=i: save(u, i) for u, i in zip(users, tokens, strict=True)]
        await _gather_limited(saves, limit=writers)  # type: ignore[arg-type]
        puts = [lambda c=car: put(c) for car in cars]
        await _gather_limited(puts, limit=writers)  # type: ignore[arg-type]


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
    control: httpx.AsyncClient,
    group: list[Replica],
    observed: Observed,
    timeline: Timeline,
    chargers: dict[str, str],
    setup: Setup,
) -> None:
    clock = timeline.clock()
    events = _events(observed.cars, observed.run)
    striker = _Striker(setup.fault, group, observed, timeline)
    for replica in group:
        replica.measure_from_now()
    wall_before = time.monotonic()
    next_drain = wall_before
    while (now := clock.now()) < observed.run.end:
        for replica in group:
            if not replica.alive() and not striker.struck(replica):
                raise RuntimeError(f"a daemon exited early (see {replica.daemon.log_path})")
        striker.step(now)
        due = [e for e in events if e[0] <= now]
        events = events[len(due) :]
        if due:
            observed.late_events_s = max(observed.late_events_s, (now - due[0][0]).total_seconds())
            await _gather_limited([lambda e=e: _fire(control, e, observed) for e in due])  # type: ignore[misc]
        if time.monotonic() >= next_drain:
            since = _last_seq(observed.log)
            observed.log.extend(await _drain(control, since=since, chargers=chargers))
            next_drain = time.monotonic() + DRAIN_EVERY_S
        await asyncio.sleep(0.05)
    observed.window_wall_s = (wall_before, time.monotonic())
    observed.wall_s = observed.window_wall_s[1] - wall_before
    striker.finish()


class _Striker:
    """Carries out the run's replica fault: the replica owning the most shards is killed or
    paused once the window reaches the fault's fraction, and restarted or resumed `for_s` wall
    seconds later."""

    def __init__(
        self,
        fault: ReplicaFault | None,
        group: list[Replica],
        observed: Observed,
        timeline: Timeline,
    ) -> None:
        self._fault = fault
        self._group = group
        self._observed = observed
        self._timeline = timeline
        run = observed.run
        self._at = run.start + (run.end - run.start) * fault.at_fraction if fault else None
        self._victim: Replica | None = None
        self._until_s = 0.0
        self._done = False

    def struck(self, replica: Replica) -> bool:
        """True while the replica is down on purpose."""
        return replica is self._victim and not self._done

    def step(self, now: datetime) -> None:
        if self._fault is None or self._at is None or self._done:
            return
        if self._victim is None and now >= self._at:
            self._strike(self._fault, now)
        elif self._victim is not None and time.monotonic() >= self._until_s:
            self._end(self._victim)

    def finish(self) -> None:
        """Takeover times, from the lease history the watcher kept."""
        history = self._observed.leases
        for strike in self._observed.strikes:
            if history is not None:
                strike.taken = history.taken_over(
                    strike.shards, holder=strike.holder, since_wall_s=strike.wall_s
                )

    def _strike(self, fault: ReplicaFault, now: datetime) -> None:
        history = self._observed.leases
        owned = {r.index: history.owned_by(r.holder) if history else set() for r in self._group}
        victim = max(self._group, key=lambda r: (len(owned[r.index]), -r.index))
        strike = Strike(
            fault.kind, victim.index, victim.holder, time.monotonic(), now,
            frozenset(owned[victim.index]),
        )  # fmt: skip
        if fault.kind == "kill":
            victim.kill()
        else:
            victim.pause()
        self._observed.strikes.append(strike)
        self._victim = victim
        self._until_s = strike.wall_s + fault.for_s

    def _end(self, victim: Replica) -> None:
        if victim.paused:
            victim.resume()
        else:
            victim.start(self._timeline)
        self._done = True


async def _fire(control: httpx.AsyncClient, event: Event, observed: Observed) -> None:
    _, action, vid = event
    if action == "fault":
        fault = {"kind": "rate_limit", "vendor": RATE_LIMITED_VENDOR, "duration_s": OUTAGE_S,
                 "retry_after_s": RETRY_AFTER_S}  # fmt: skip
        response = await control.post("/faults", json=fault)
        response.raise_for_status()
        return
    charger_id = next((c.charger_id for c in observed.cars if c.vehicle_id == vid), None)
    if charger_id is None:
        response = await control.post(f"/vehicles/{vid}/{action}")
    else:
        body = {"vehicle_id": vid} if action == "plug" else {}
        response = await control.post(f"/chargers/{charger_id}/{action}", json=body)
    response.raise_for_status()
    if action == "unplug":
        car = (await control.get(f"/vehicles/{vid}")).json()
        observed.soc_at_plug_out[vid] = float(car["soc_percent"])


def _last_seq(log: list[dict[str, Any]]) -> int:
    return int(log[-1]["seq"]) if log else 0


async def _drain(
    control: httpx.AsyncClient, *, since: int, chargers: dict[str, str]
) -> list[dict[str, Any]]:
    """New log entries of the vehicle and charger endpoints; a charger's request is booked to
    the car on it (its `vehicle_id`), keeping the charger's vendor and path."""
    response = await control.get("/log", params={"since": since})
    response.raise_for_status()
    entries: list[dict[str, Any]] = []
    for entry in response.json():
        path = entry["path"]
        if path.startswith("/chargers"):
            entry["vehicle_id"] = chargers.get(entry["vehicle_id"] or "", entry["vehicle_id"])
        elif not path.startswith("/vehicles"):
            continue
        entries.append(entry)
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
