"""Run the story: the fake Enode and the real daemon on one simulated clock, and keep the books.

Both run in this process on loopback and share one `StepClock`; the daemon is the same `Daemon`
that `enode-scheduler run` starts, over adapters from `bootstrap.build`, on a SQLite file in a
temporary directory, driven by `daemon.stepped`: the clock jumps to the next instant something is
due (a reconcile step, a job, an event of the story, a sample) once all work at the current one
is done. So every run prints the same numbers, however fast or busy the machine; the wall clock
only paces the view (`speed`).
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from enode_scheduler.bootstrap import Deps, build
from enode_scheduler.clock import ScaledClock, StepClock
from enode_scheduler.config import Co2Settings
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.daemon.stepped import SteppedDaemon
from enode_scheduler.demo import scenario
from enode_scheduler.demo.scenario import CARS, USER, DemoCar
from enode_scheduler.logs import logging_to
from enode_scheduler.planner.intensity import with_intensity
from enode_scheduler.planner.models import Slot
from enode_scheduler.records import PlanRecord, Presence, UserTokens
from enode_scheduler.sim import Fault, RunningSim, run_sim

# Sim time between samples of the cars (and frames of the live view); a whole minute, so each
# sample's span lies in one price slot.
SAMPLE_EVERY = timedelta(minutes=1)


@dataclass
class Night:
    """One car's result for one night."""

    plugged_at: datetime
    deadline: datetime
    target_percent: float
    energy_kwh: float = 0.0
    cost: float = 0.0
    co2_kg: float = 0.0
    soc_at_deadline: float | None = None
    feasible: bool | None = None


@dataclass
class Track:
    """What one car did: samples of (time, SoC, plugged, charging) and its nights."""

    car: DemoCar
    samples: list[tuple[datetime, float, bool, bool]] = field(default_factory=list)
    nights: list[Night] = field(default_factory=list)
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    commands_sent: int = 0
    # (sim time, START or STOP) of each command the fake Enode took, in order
    commands: list[tuple[datetime, str]] = field(default_factory=list)
    rate_limited: int = 0
    last_soc: float | None = None
    # At a public fast charger now; what was sent to it there, and whether the daemon said so.
    away: bool = False
    away_commands: int = 0
    reported_away: bool = False
    _commands_before_away: int = 0


@dataclass
class DemoRun:
    """Everything the views need while and after the demo runs."""

    nights: int
    speed: float
    tracks: dict[str, Track]
    slots: list[Slot] = field(default_factory=list)
    now: datetime = scenario.START
    daemon: Daemon | None = None
    wall_s: float = 0.0
    # True when the slots carry carbon intensity (`demo --co2 FILE`)
    co2: bool = False
    # the last request of the fake Enode's log read into the books
    log_seq: int = 0


Tick = Callable[[DemoRun], None]


def price_at(slots: list[Slot], when: datetime) -> float:
    for slot in slots:
        if slot.start <= when < slot.end:
            return slot.price_per_kwh
    return slots[-1].price_per_kwh if slots else 0.0


def grams_at(slots: list[Slot], when: datetime) -> float:
    """gCO2/kWh at `when` (0 where the slots carry none)."""
    for slot in slots:
        if slot.start <= when < slot.end:
            return slot.g_co2_per_kwh or 0.0
    return 0.0


async def run(
    *,
    nights: int,
    speed: float,
    on_tick: Tick | None = None,
    log_path: Path | None = None,
    co2: Co2Settings | None = None,
) -> DemoRun:
    """Play the story for `nights` nights; returns the books. The daemon logs to `log_path`.

    With `co2` (a CO2 source and its weight), the daemon plans with it and the books count kg CO2.
    """
    demo = DemoRun(nights, speed, {c.vehicle_id: Track(c) for c in CARS})
    clock = StepClock(scenario.START)
    with tempfile.TemporaryDirectory(prefix="enode-scheduler-demo-") as tmp:
        async with run_sim(scenario.sim_config(), clock=clock) as sim:
            _populate(sim, clock.now())
            settings = scenario.settings(
                Path(tmp),
                api_url=sim.api_url,
                token_url=sim.token_url,
                authorize_url=sim.authorize_url,
            )
            if co2 is not None:
                settings = settings.model_copy(update={"co2": co2})
            with (
                (log_path or Path(tmp) / "daemon.log").open("w") as log_file,
                logging_to(settings.logging, log_file),
            ):
                async with build(settings, clock=clock) as deps:
                    await _link_and_plan(deps, sim, clock.now())
                    start = scenario.START - timedelta(hours=1)
                    end = scenario.end_at(nights) + timedelta(days=1)
                    demo.slots = deps.tariff.apply(
                        await deps.prices.fetch(scenario.ZONE, start=start, end=end)
                    )
                    if deps.intensity is not None:
                        known = await deps.intensity.fetch(start=start, end=end)
                        demo.slots = with_intensity(demo.slots, known, estimate=None)
                        demo.co2 = True
                    await _play(demo, deps, sim, clock, on_tick)
    return demo


def _populate(sim: RunningSim, now: datetime) -> None:
    for car in CARS:
        sim.state.add_vehicle(
            USER,
            vendor=car.vendor,
            id=car.vehicle_id,
            model=car.model,
            capacity_kwh=car.capacity_kwh,
            max_charge_kw=car.max_charge_kw,
            soc_percent=float(car.soc_percent),
            charge_limit_percent=100.0,
            updated_at=now,
        )
        if car.charger_id is not None:
            sim.state.add_charger(
                USER, vendor=car.charger_vendor, id=car.charger_id, max_charge_kw=car.max_charge_kw
            )


async def _link_and_plan(deps: Deps, sim: RunningSim, now: datetime) -> None:
    issued = sim.state.issue_user_token(USER)
    expires_at = now + timedelta(seconds=issued.expires_in_s)
    tokens = UserTokens(issued.access_token, issued.refresh_token, expires_at)
    await deps.store.tokens.save_tokens(USER, tokens)
    for car in CARS:
        await deps.store.plans.put_plan(
            PlanRecord(
                vehicle_id=car.vehicle_id,
                user_id=USER,
                target_soc_percent=car.target_percent,
                timezone=scenario.TZ,
                weekdays=frozenset(range(7)),
                local_time=car.deadline,
                start_penalty=car.start_penalty,
                charger_id=car.charger_id,
                # The sim puts the user's cars at their home charging location.
                location_id=sim.state.home_location_id(USER),
            )
        )


async def _play(
    demo: DemoRun, deps: Deps, sim: RunningSim, clock: StepClock, on_tick: Tick | None
) -> None:
    daemon = Daemon(deps, install_signals=False, holder="demo")
    demo.daemon = daemon
    events = _events(demo.nights)
    end = scenario.end_at(demo.nights)
    pace = _Pace(clock.now(), demo.speed)
    next_sample = clock.now()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with SteppedDaemon(daemon, clock).started() as stepped:
            while True:
                now = clock.now()
                while events and events[0][0] <= now:
                    _, action = events.pop(0)
                    action(sim, demo)
                await stepped.run_due()
                if now >= next_sample:
                    _sample(demo, sim, now)
                    if on_tick is not None:
                        on_tick(demo)
                    next_sample = now + SAMPLE_EVERY
                if now >= end:
                    break
                upcoming = min(stepped.next_at(), next_sample, end)
                if events:
                    upcoming = min(upcoming, events[0][0])
                await pace.wait_for(upcoming)
                clock.advance_to(upcoming)
    finally:
        demo.wall_s = loop.time() - started
    _close_books(demo, sim)


class _Pace:
    """Keeps the run from getting ahead of `speed` times real time, so a person can watch.

    It only waits: what happens at each instant does not depend on it.
    """

    def __init__(self, start: datetime, speed: float) -> None:
        self._wall = None if math.isinf(speed) else ScaledClock(start=start, speed=speed)

    async def wait_for(self, when: datetime) -> None:
        if self._wall is not None:
            await self._wall.sleep((when - self._wall.now()).total_seconds())


Event = tuple[datetime, Callable[[RunningSim, DemoRun], None]]


def _events(nights: int) -> list[Event]:
    events: list[Event] = [(scenario.RATE_LIMIT_FROM, _rate_limit)]
    for night in range(nights):
        for car in CARS:
            events.append((scenario.plug_in_at(car, night), _plug(car, night)))
            events.append((scenario.deadline_at(car, night), _deadline(car, night)))
            away = scenario.away_at(car, night)
            if away is not None:
                events.append((away[0], _arrive_at_fast_charger(car)))
                events.append((away[1], _leave_fast_charger(car)))
        if night + 1 < nights:
            morning = scenario.local_at(scenario.START + timedelta(days=night + 1), time(8, 0))
            events.extend((morning, _drive(car)) for car in CARS)
    return sorted(events, key=lambda e: e[0])


def _rate_limit(sim: RunningSim, demo: DemoRun) -> None:
    sim.state.add_fault(
        Fault(
            kind="rate_limit",
            vendor=scenario.RATE_LIMITED_VENDOR,
            # The maker's cloud refuses its own car; the user's list of cars (Enode's) still
            # answers. Unscoped, the list's 429 would close the gate for every car of the user.
            path_prefix=f"/vehicles/{scenario.RATE_LIMITED_VEHICLE}",
            duration_s=scenario.RATE_LIMIT_S,
            retry_after_s=scenario.RETRY_AFTER_S,
        )
    )


def _plug(car: DemoCar, night: int) -> Callable[[RunningSim, DemoRun], None]:
    def act(sim: RunningSim, demo: DemoRun) -> None:
        if car.charger_id is not None:
            sim.state.plug_charger(car.charger_id, car.vehicle_id)
        else:
            sim.state.plug(car.vehicle_id)
        record = Night(
            plugged_at=scenario.plug_in_at(car, night),
            deadline=scenario.deadline_at(car, night),
            target_percent=car.target_percent,
        )
        demo.tracks[car.vehicle_id].nights.append(record)

    return act


def _arrive_at_fast_charger(car: DemoCar) -> Callable[[RunningSim, DemoRun], None]:
    def act(sim: RunningSim, demo: DemoRun) -> None:
        track = demo.tracks[car.vehicle_id]
        track.away = True
        track._commands_before_away = sim.state.counters[car.vehicle_id].commands_received
        # A public DC charger is no charging location of the user's; the car starts at once.
        sim.state.move(car.vehicle_id, charging_location_id=None, max_charge_kw=car.away_kw)
        sim.state.plug(car.vehicle_id)

    return act


def _leave_fast_charger(car: DemoCar) -> Callable[[RunningSim, DemoRun], None]:
    def act(sim: RunningSim, demo: DemoRun) -> None:
        track = demo.tracks[car.vehicle_id]
        received = sim.state.counters[car.vehicle_id].commands_received
        track.away_commands += received - track._commands_before_away
        track.away = False
        sim.state.unplug(car.vehicle_id)
        home = sim.state.home_location_id(USER)
        sim.state.move(car.vehicle_id, charging_location_id=home, max_charge_kw=car.max_charge_kw)
        soc = sim.state.vehicle(car.vehicle_id).soc_percent
        sim.state.set_soc(car.vehicle_id, max(5.0, soc - scenario.AWAY_DRIVE_PERCENT))
        track.last_soc = None

    return act


def _deadline(car: DemoCar, night: int) -> Callable[[RunningSim, DemoRun], None]:
    def act(sim: RunningSim, demo: DemoRun) -> None:
        track = demo.tracks[car.vehicle_id]
        rec = track.nights[-1]
        rec.soc_at_deadline = sim.state.vehicle(car.vehicle_id).soc_percent

    return act


def _drive(car: DemoCar) -> Callable[[RunningSim, DemoRun], None]:
    def act(sim: RunningSim, demo: DemoRun) -> None:
        if car.charger_id is not None:
            sim.state.unplug_charger(car.charger_id)
        else:
            sim.state.unplug(car.vehicle_id)
        soc = sim.state.vehicle(car.vehicle_id).soc_percent
        sim.state.set_soc(car.vehicle_id, max(5.0, soc - 35.0))
        demo.tracks[car.vehicle_id].last_soc = None

    return act


def _sample(demo: DemoRun, sim: RunningSim, now: datetime) -> None:
    _note_commands(demo, sim)
    since = demo.now
    demo.now = now
    for vid, track in demo.tracks.items():
        v = sim.state.vehicle(vid)
        # Energy from a public charger is not on the household's bill.
        if track.away:
            track.last_soc = None
        if track.last_soc is not None and v.soc_percent > track.last_soc and track.nights:
            grid_kwh = (v.soc_percent - track.last_soc) / 100 * v.capacity_kwh / v.efficiency
            night = track.nights[-1]
            night.energy_kwh += grid_kwh
            # charged since the last sample, within one slot (samples fall on whole minutes)
            night.cost += grid_kwh * price_at(demo.slots, since)
            night.co2_kg += grid_kwh * grams_at(demo.slots, since) / 1000
        track.last_soc = v.soc_percent
        track.samples.append((now, v.soc_percent, v.plugged_in, v.charging))
        if demo.daemon is not None:
            _note_schedule(demo.daemon, track)


def _note_commands(demo: DemoRun, sim: RunningSim) -> None:
    """The START and STOP commands the fake Enode took since the last look, with their time."""
    for entry in sim.state.requests(since=demo.log_seq):
        demo.log_seq = entry.seq
        if entry.method != "POST" or not entry.path.endswith("/charging") or entry.status >= 300:
            continue
        track = _track_of(demo, entry.vehicle_id)
        if track is not None:
            track.commands.append((entry.sim_time, json.loads(entry.request_body)["action"]))


def _track_of(demo: DemoRun, device_id: str | None) -> Track | None:
    """The car a vehicle or its wallbox belongs to."""
    for vid, track in demo.tracks.items():
        if device_id in (vid, track.car.charger_id):
            return track
    return None


def _note_schedule(daemon: Daemon, track: Track) -> None:
    """Remember the windows the daemon planned, and whether tonight's goal is feasible."""
    state = daemon.reconciler.cars.get(track.car.vehicle_id)
    if state is not None and track.away and state.plan.presence is Presence.AWAY:
        track.reported_away = True
    if state is None or state.record is None:
        return
    for w in state.record.schedule.windows:
        if (w.start, w.end) not in track.windows:
            track.windows.append((w.start, w.end))
    night = track.nights[-1] if track.nights else None
    plugged = state.reading is not None and state.reading.is_plugged_in
    if night is not None and plugged and state.record.deadline == night.deadline:
        night.feasible = state.record.schedule.feasible


def _close_books(demo: DemoRun, sim: RunningSim) -> None:
    _note_commands(demo, sim)
    for vid, track in demo.tracks.items():
        # A car charged through its wallbox gets its commands (and 429s) there.
        ids = [vid] if track.car.charger_id is None else [vid, track.car.charger_id]
        track.commands_sent = sum(sim.state.counters[i].commands_received for i in ids)
        track.rate_limited = sum(sim.state.counters[i].rate_limited for i in ids)


def baseline_cost(demo: DemoRun, track: Track, night: Night) -> float:
    """What the same energy costs charged at full power from the moment of plugging in."""
    return _at_once(demo, track, night, price_at)


def baseline_co2_kg(demo: DemoRun, track: Track, night: Night) -> float:
    """The kg CO2 of the same energy charged at full power from the moment of plugging in."""
    return _at_once(demo, track, night, grams_at) / 1000


def _at_once(
    demo: DemoRun, track: Track, night: Night, per_kwh: Callable[[list[Slot], datetime], float]
) -> float:
    power_kw = track.car.max_charge_kw
    left_kwh, at, total = night.energy_kwh, night.plugged_at, 0.0
    step = timedelta(minutes=1)
    while left_kwh > 1e-9:
        take = min(left_kwh, power_kw / 60)
        total += take * per_kwh(demo.slots, at)
        left_kwh -= take
        at += step
    return total
