"""The demo's views: the live table while it runs, the per-car report, the JSON object."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table

from enode_scheduler.demo import scenario
from enode_scheduler.demo.runner import DemoRun, Track, baseline_co2_kg, baseline_cost

TARGET_SLACK_PERCENT = 0.5  # SoC within this of the target counts as met


def _local(when: datetime) -> str:
    return when.astimezone(ZoneInfo(scenario.TZ)).strftime("%a %H:%M")


def live_table(demo: DemoRun) -> Table:
    """Car, SoC, plugged, charging, next window, plan state; refreshed while the demo runs."""
    title = f"enode-scheduler demo · {_local(demo.now)} Oslo · {demo.speed:g}x real time"
    table = Table("car", "SoC", "plugged", "charging", "next window", "plan", "429s", title=title)
    daemon = demo.daemon
    for vid, track in demo.tracks.items():
        _, soc, plugged, charging = track.samples[-1] if track.samples else (0, 0.0, False, False)
        window, state = "-", "waiting"
        car = daemon.reconciler.cars.get(vid) if daemon is not None else None
        if car is not None:
            state = car.plan.shown_status
            if car.record is not None:
                upcoming = [w for w in car.record.schedule.windows if w.end > demo.now]
                if upcoming:
                    w = upcoming[0]
                    window = f"{_local(w.start)}-{w.end.astimezone(ZoneInfo(scenario.TZ)):%H:%M}"
                if not car.record.schedule.feasible:
                    state += " (cannot make it)"
        table.add_row(
            track.car.label,
            f"{soc:5.1f}%",
            "yes" if plugged else "no",
            "[green]yes[/]" if charging else "no",
            window,
            state,
            str(sum(1 for _ in ())) if daemon is None else _rate_limited(demo, vid),
        )
    return table


def _rate_limited(demo: DemoRun, vid: str) -> str:
    return str(demo.tracks[vid].rate_limited) if demo.tracks[vid].rate_limited else "-"


def car_result(demo: DemoRun, track: Track) -> dict[str, Any]:
    """One entry of the report's `cars` list."""
    nights = track.nights
    met = all(
        n.soc_at_deadline is not None
        and n.soc_at_deadline >= n.target_percent - TARGET_SLACK_PERCENT
        for n in nights
    )
    feasible = all(n.feasible is not False for n in nights)
    cost = sum(n.cost for n in nights)
    baseline = sum(baseline_cost(demo, track, n) for n in nights)
    kg = sum(n.co2_kg for n in nights) if demo.co2 else None
    baseline_kg = sum(baseline_co2_kg(demo, track, n) for n in nights) if demo.co2 else None
    return {
        "id": track.car.vehicle_id,
        "name": track.car.label,
        "vendor": track.car.vendor,
        # "charger": START/STOP went to the wallbox `charger_id`, never to the car.
        "controlled_via": "vehicle" if track.car.charger_id is None else "charger",
        "charger_id": track.car.charger_id,
        "target_met": bool(nights) and met,
        "feasible": feasible,
        "soc_at_deadline": [n.soc_at_deadline for n in nights],
        "target_percent": track.car.target_percent,
        "energy_kwh": round(sum(n.energy_kwh for n in nights), 3),
        "cost": round(cost, 4),
        "baseline_cost": round(baseline, 4),
        "saving": round(baseline - cost, 4) + 0.0,  # + 0.0: never "-0.00"
        # null without `demo --co2`: no intensity, no emissions to report
        "co2_kg": _rounded(kg),
        "baseline_co2_kg": _rounded(baseline_kg),
        "co2_saving_kg": _rounded(None if kg is None or baseline_kg is None else baseline_kg - kg),
        "commands_sent": track.commands_sent,
        # what reached the car (or its wallbox), when, in sim time
        "commands": [{"at": at.isoformat(), "action": action} for at, action in track.commands],
        "rate_limited_responses": track.rate_limited,
        "away": _away(track),
    }


def _away(track: Track) -> dict[str, Any] | None:
    """Where a car was away from its plan's location, and that it was left alone there."""
    car = track.car
    if car.away_from is None or car.away_until is None:
        return None
    return {
        "from": car.away_from.strftime("%H:%M"),
        "until": car.away_until.strftime("%H:%M"),
        "charger_kw": car.away_kw,
        "reported_away": track.reported_away,
        "commands_while_away": track.away_commands,
    }


def report_json(demo: DemoRun) -> dict[str, Any]:
    cars = [car_result(demo, t) for t in demo.tracks.values()]
    return {
        "nights": demo.nights,
        # null for an unpaced run (`speed` infinite), which JSON cannot carry
        "speed": demo.speed if math.isfinite(demo.speed) else None,
        "wall_s": round(demo.wall_s, 2),
        "currency": "EUR",
        "zone": scenario.ZONE,
        "cars": cars,
        "total_cost": round(sum(c["cost"] for c in cars), 4),
        "total_baseline_cost": round(sum(c["baseline_cost"] for c in cars), 4),
        "total_co2_kg": _rounded(sum(c["co2_kg"] for c in cars) if demo.co2 else None),
        "total_baseline_co2_kg": _rounded(
            sum(c["baseline_co2_kg"] for c in cars) if demo.co2 else None
        ),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report_table(demo: DemoRun) -> Table:
    """The final per-car report."""
    data = report_json(demo)
    co2_columns = ("kg CO2", "at once kg") if demo.co2 else ()
    table = Table(
        "car", "target", "met", "energy kWh", "cost €", "at once €", "saving", *co2_columns,
        "commands", "429s", title=f"after {demo.nights} simulated night(s) in {demo.wall_s:.0f} s",
    )  # fmt: skip
    for car in data["cars"]:
        met = "[green]yes[/]" if car["target_met"] else "[red]no[/]"
        if not car["feasible"]:
            met += " (infeasible)"
        saving = car["saving"]
        share = f" ({saving / car['baseline_cost']:.0%})" if car["baseline_cost"] > 0 else ""
        co2_cells = (f"{car['co2_kg']:.2f}", f"{car['baseline_co2_kg']:.2f}") if demo.co2 else ()
        table.add_row(
            car["name"], f"{car['target_percent']:g}%", met, f"{car['energy_kwh']:.1f}",
            f"{car['cost']:.2f}", f"{car['baseline_cost']:.2f}", f"{saving:.2f}{share}",
            *co2_cells, str(car["commands_sent"]), str(car["rate_limited_responses"]),
        )  # fmt: skip
    total, base = data["total_cost"], data["total_baseline_cost"]
    co2_totals: tuple[str, ...] = ()
    if demo.co2:
        co2_totals = (f"{data['total_co2_kg']:.2f}", f"{data['total_baseline_co2_kg']:.2f}")
    table.add_section()
    table.add_row(
        "all cars", "", "", "", f"{total:.2f}", f"{base:.2f}", f"{base - total:.2f}", *co2_totals
    )
    notes = [_away_note(car) for car in data["cars"] if car["away"] is not None]
    if notes:
        table.caption = "\n".join(notes)
    return table


def _away_note(car: dict[str, Any]) -> str:
    away = car["away"]
    seen = "reported away" if away["reported_away"] else "not seen by a poll"
    left = away["commands_while_away"]
    verdict = "left alone" if left == 0 else f"[red]{left} command(s) sent[/]"
    return (
        f"{car['name']}: at a {away['charger_kw']:g} kW public charger "
        f"{away['from']}-{away['until']}, {seen}, {verdict} there."
    )
