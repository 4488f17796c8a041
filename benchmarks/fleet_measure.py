"""The fleet benchmark's figures, computed from what the sim saw and what the daemon planned.

Pure functions over the sim's request log (entries as `GET /_sim/log` returns them), the cars,
and the schedules the daemon logged (`plan_replanned`). All times are sim times.
"""

from __future__ import annotations

import bisect
import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks.fleet_scenario import FleetCar

Windows = list[tuple[datetime, datetime]]


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def plugged_span(car: FleetCar, run: Span) -> Span | None:
    lo, hi = max(car.plug_in, run.start), min(car.plug_out, run.end)
    return Span(lo, hi) if hi > lo else None


def _plugged_at(car: FleetCar, when: datetime) -> bool:
    return car.plug_in <= when < car.plug_out


def _when(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["sim_time"])


def _is_read(entry: dict[str, Any]) -> bool:
    return bool(entry["method"] == "GET" and entry["path"].startswith(_DEVICE_PATHS))


# Requests about cars: their own endpoints, and those of the chargers some are charged through
# (the run books a charger's request to the car on it).
_DEVICE_PATHS = ("/vehicles", "/chargers")


def _is_command(entry: dict[str, Any]) -> bool:
    return bool(entry["method"] == "POST" and entry["path"].endswith("/charging"))


def _cars_of(entry: dict[str, Any], by_user: dict[str, list[FleetCar]]) -> list[FleetCar]:
    """The cars one request concerns: its vehicle, or all of its user's cars for a list read."""
    user_cars = by_user.get(entry["user_id"] or "", [])
    vid = entry["vehicle_id"]
    return [c for c in user_cars if c.vehicle_id == vid] if vid else user_cars


def rates(cars: list[FleetCar], log: Iterable[dict[str, Any]], run: Span) -> dict[str, float]:
    """State reads per vehicle-hour (plugged / unplugged) and commands per vehicle-hour.

    A list read (GET /vehicles) answers for all of a user's cars at once. It is charged to the
    user's plugged-in cars when there are any (their cadence sets the pace), else to the
    unplugged ones, split evenly, so the figures count requests, which the vendor clouds see.
    """
    by_user = _by_user(cars)
    plugged_h = sum(s.hours() for c in cars if (s := plugged_span(c, run)) is not None)
    unplugged_h = len(cars) * run.hours() - plugged_h
    reads = {True: 0.0, False: 0.0}
    commands = 0
    for entry in log:
        when = _when(entry)
        if not run.start <= when < run.end:
            continue
        if _is_command(entry):
            commands += 1
        elif _is_read(entry):
            concerned = _cars_of(entry, by_user)
            plugged = [c for c in concerned if _plugged_at(c, when)]
            share = plugged or concerned
            for car in share:
                reads[_plugged_at(car, when)] += 1 / len(share)
    return {
        "reads_per_vehicle_hour_plugged": reads[True] / plugged_h if plugged_h else 0.0,
        "reads_per_vehicle_hour_unplugged": reads[False] / unplugged_h if unplugged_h else 0.0,
        "commands_per_vehicle_hour": commands / (len(cars) * run.hours()),
    }


def requests_into_closed_gates(
    cars: list[FleetCar], log: Iterable[dict[str, Any]], *, retry_after_s: float
) -> int:
    """Requests for a (user, vendor) the sim received before a Retry-After it had sent expired."""
    by_user = _by_user(cars)
    closed_until: dict[tuple[str, str], datetime] = {}
    violations = 0
    for entry in sorted(log, key=lambda e: e["seq"]):
        if not entry["path"].startswith(_DEVICE_PATHS) or entry["user_id"] is None:
            continue
        when = _when(entry)
        if entry["path"].startswith("/chargers"):
            gates = {(entry["user_id"], str(entry["vendor"]))}  # the charger maker's gate
        else:
            gates = {(entry["user_id"], c.vendor) for c in _cars_of(entry, by_user)}
        if any(closed_until.get(g, when) > when for g in gates):
            violations += 1
        if entry["status"] == 429:
            until = when.timestamp() + retry_after_s
            for gate in gates:
                closed_until[gate] = datetime.fromtimestamp(until, tz=when.tzinfo)
    return violations


@dataclass
class Boundaries:
    delays_s: list[float]
    unattributed: int
    duplicates: int
    held_by_429: int
    extension_stops: int = 0

    def percentile(self, q: float) -> float | None:
        if not self.delays_s:
            return None
        if len(self.delays_s) == 1:
            return self.delays_s[0]
        return statistics.quantiles(self.delays_s, n=100, method="inclusive")[int(q) - 1]


def boundary_delays(
    log: list[dict[str, Any]],
    schedules: dict[str, list[tuple[datetime, Windows]]],
    run: Span,
    extended: dict[str, list[datetime]] | None = None,
) -> Boundaries:
    """Sim time from the schedule boundary each command answers to its arrival at the sim.

    The schedule in force is the latest one computed at or before the command. A START answers
    the start of the window it falls in (or of the replan that opened it); a STOP the end of the
    last window before it (or the replan that closed it). A STOP inside a window (target reached)
    answers no boundary. Two commands answering one (car, action, boundary) are duplicates.
    Commands the vendor held back (its user got a 429 between boundary and command) are counted
    apart: their delay is the vendor's Retry-After, not the daemon's. So are STOPs of a car the
    daemon let charge past its last window on purpose (`extended`: vehicle id -> times of its
    `window_extended` events): they answer "target reached", not the window's end.
    """
    limited = _rate_limited_times(log)
    extended = extended or {}
    delays: list[float] = []
    seen: set[tuple[str, str, datetime]] = set()
    unattributed = duplicates = held = extension_stops = 0
    for entry in log:
        if not _is_command(entry) or entry["status"] >= 300:
            continue
        when, vid = _when(entry), entry["vehicle_id"]
        action = json.loads(entry["request_body"])["action"]
        boundary = _boundary(schedules.get(vid, []), when, action)
        if boundary is None:
            unattributed += run.start <= when < run.end
            continue
        key = (vid, action, boundary)
        duplicates += key in seen
        seen.add(key)
        if not run.start <= boundary < run.end:
            continue
        if any(boundary <= t <= when for t in limited.get(entry["user_id"], ())):
            held += 1
            continue
        if action == "STOP" and any(boundary <= t <= when for t in extended.get(vid, ())):
            extension_stops += 1
            continue
        delays.append((when - boundary).total_seconds())
    return Boundaries(sorted(delays), unattributed, duplicates, held, extension_stops)


def _rate_limited_times(log: list[dict[str, Any]]) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = defaultdict(list)
    for entry in log:
        if entry["status"] == 429 and entry["user_id"]:
            found[entry["user_id"]].append(_when(entry))
    return found


def _boundary(
    history: list[tuple[datetime, Windows]], when: datetime, action: str
) -> datetime | None:
    index = bisect.bisect_right([at for at, _ in history], when) - 1
    if index < 0:
        return None
    computed_at, windows = history[index]
    if action == "START":
        starts = [s for s, _ in windows if s <= when]
        return max(max(starts), computed_at) if starts else None
    if any(s <= when < e for s, e in windows):
        return None
    ends = [e for _, e in windows if e <= when]
    return max([computed_at, *ends])


def goals(
    cars: list[FleetCar],
    soc_at_plug_out: dict[str, float],
    run: Span,
    *,
    notice_s: float,
    margin_s: float,
    outages: Iterable[Outage] = (),
) -> tuple[int, int]:
    """(feasible goals, of which met) for cars unplugged within the run.

    Feasible: the energy fits at full power between the daemon noticing the plug-in (at start-up
    for cars plugged before it, else within one unplugged poll, `notice_s`) and the deadline
    less the planner's margin, less the time nobody could act for the car (`outages`: a vendor
    answering only 429, a replica gone until its shards were taken over).
    """
    outages = list(outages)
    feasible = met = 0
    for car in cars:
        if car.vehicle_id not in soc_at_plug_out or car.plug_out <= run.start:
            continue
        lag_s = notice_s if car.plug_in > run.start else 0.0
        plugged = Span(max(car.plug_in, run.start), car.plug_out)
        lost = [span for applies, span in outages if applies(car)]
        available_s = (plugged.end - plugged.start).total_seconds() - _overlap_s(plugged, lost)
        if car.needed_h() * 3600 + lag_s + margin_s > available_s:
            continue
        feasible += 1
        met += soc_at_plug_out[car.vehicle_id] >= car.target_percent - 0.5
    return feasible, met


Outage = tuple[Callable[[FleetCar], bool], Span]  # which cars it hit, and when


def _overlap_s(span: Span, others: list[Span]) -> float:
    """Seconds of `span` covered by the union of `others`."""
    total, cursor = 0.0, span.start
    for other in sorted(others, key=lambda o: o.start):
        lo, hi = max(other.start, cursor, span.start), min(other.end, span.end)
        if hi > lo:
            total += (hi - lo).total_seconds()
            cursor = hi
    return total


def schedules_from_events(
    events: Iterable[dict[str, Any]],
) -> dict[str, list[tuple[datetime, Windows]]]:
    """vehicle id -> [(computed at, windows)] in time order, from `plan_replanned` log events."""
    found: dict[str, list[tuple[datetime, Windows]]] = defaultdict(list)
    for event in events:
        windows = [
            (datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in event["window_list"]
        ]
        found[event["vehicle_id"]].append((datetime.fromisoformat(event["at"]), windows))
    for history in found.values():
        history.sort(key=lambda item: item[0])
    return dict(found)


def extensions_from_events(events: Iterable[dict[str, Any]]) -> dict[str, list[datetime]]:
    """vehicle id -> times the daemon let the car charge past its last window."""
    found: dict[str, list[datetime]] = defaultdict(list)
    for event in events:
        found[event["vehicle_id"]].append(datetime.fromisoformat(event["at"]))
    return dict(found)


def _by_user(cars: list[FleetCar]) -> dict[str, list[FleetCar]]:
    found: dict[str, list[FleetCar]] = defaultdict(list)
    for car in cars:
        found[car.user_id].append(car)
    return found
