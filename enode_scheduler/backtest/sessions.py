"""Charging sessions from data/sessions, and moving them onto the year of a price series.

Sessions (2018-2021) and prices (2023-2025) do not overlap, so each session is moved: its plug-in
keeps its weekday and its wall-clock time of day in the session's home zone (Europe/Oslo for the
Norwegian sessions, America/Los_Angeles for ACN) and is placed at that same wall-clock time in the
price zone, on the date of the price year that is nearest to the same calendar day with the same
weekday (a shift by a whole number of weeks, at most 3 days off the calendar day). The session
keeps its real duration. A session that would run past the end of the prices moves one week
earlier (one before their start, one week later). Nonexistent local times move forward and
ambiguous ones take the first occurrence, as for goals.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.planner.goals import local_to_utc

_COLUMNS = ("session_id", "plug_in_utc", "plug_out_utc", "energy_kwh", "max_power_kw")
_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Session:
    """One plug-in: when, for how long, how much energy was delivered, at what power limit."""

    session_id: str
    plug_in: datetime
    plug_out: datetime
    energy_kwh: float
    max_power_kw: float | None
    site_id: str = ""


def home_zone(path: Path) -> str:
    """The wall-clock zone the sessions of a data/sessions file were recorded in."""
    return "America/Los_Angeles" if "acn" in path.name.lower() else "Europe/Oslo"


def read_sessions(path: Path) -> list[Session]:
    """Read a sessions CSV (data/README.md layout; gzipped if named *.gz); one line per bad row."""
    try:
        with _open_text(path) as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, EOFError) as exc:
        raise InvalidInput(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    if rows and not set(_COLUMNS) <= set(rows[0]):
        raise InvalidInput(f"{path}: columns must include {','.join(_COLUMNS)}")
    return [_session(row, path, line) for line, row in enumerate(rows, start=2)]


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return path.open(newline="", encoding="utf-8")


def _session(row: dict[str, str], path: Path, line: int) -> Session:
    try:
        plug_in = _utc(row["plug_in_utc"])
        plug_out = _utc(row["plug_out_utc"])
        energy = float(row["energy_kwh"])
        power = float(row["max_power_kw"]) if row["max_power_kw"] else None
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"{path}:{line}: bad session row: {exc}") from exc
    if plug_out <= plug_in:
        raise InvalidInput(f"{path}:{line}: plug-out is not after plug-in")
    return Session(row["session_id"], plug_in, plug_out, energy, power, row.get("site_id", ""))


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without zone: {text!r}")
    return moment.astimezone(UTC)


def move_to_year(
    session: Session,
    *,
    home_tz: str,
    price_tz: str,
    year: int,
    first: datetime,
    last: datetime,
) -> Session | None:
    """`session` moved into [first, last] of `year` (module docstring); None if it cannot fit."""
    local = session.plug_in.astimezone(ZoneInfo(home_tz))
    day = _same_weekday_near(local.date(), year)
    plug_in = local_to_utc(day, local.time(), ZoneInfo(price_tz))
    duration = session.plug_out - session.plug_in
    if plug_in + duration > last:
        plug_in = _shift_weeks(plug_in, -1, price_tz)
    if plug_in < first:
        plug_in = _shift_weeks(plug_in, 1, price_tz)
    if plug_in < first or plug_in + duration > last:
        return None
    return replace(session, plug_in=plug_in, plug_out=plug_in + duration)


def _same_weekday_near(day: date, year: int) -> date:
    try:
        target = day.replace(year=year)
    except ValueError:  # 29 February
        target = day.replace(year=year, day=28)
    shift = (day.weekday() - target.weekday() + 3) % 7 - 3
    return target + timedelta(days=shift)


def _shift_weeks(moment: datetime, weeks: int, tz: str) -> datetime:
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    return local_to_utc(local.date() + weeks * _WEEK, local.time(), zone)
