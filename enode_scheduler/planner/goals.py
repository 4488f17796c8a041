"""Repeating goals ("weekdays 07:00 Europe/Oslo") resolved to the next UTC deadline.

DST rules: a local time that does not exist (the spring-forward gap) moves forward by the length
of the gap (02:30 becomes 03:30 on the night clocks jump from 02:00 to 03:00); an ambiguous local
time (the repeated autumn hour) means its first occurrence, the one still on summer time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from enode_scheduler.exceptions import InvalidInput


def next_deadline(
    *, weekdays: frozenset[int], local_time: time, tz: str, now: datetime
) -> datetime:
    """The first UTC moment after `now` that is `local_time` on one of `weekdays` (0=Monday)."""
    if not weekdays or not weekdays <= frozenset(range(7)):
        raise InvalidInput(f"weekdays must be a non-empty subset of 0..6, got {sorted(weekdays)}")
    zone = _zone(tz)
    today = now.astimezone(zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.weekday() not in weekdays:
            continue
        moment = local_to_utc(day, local_time, zone)
        if moment > now:
            return moment
    raise AssertionError("a weekday repeats within 8 days")  # unreachable with a valid set


def local_to_utc(day: date, local_time: time, zone: ZoneInfo) -> datetime:
    """`day` at wall-clock `local_time` in `zone` as UTC, with the DST rules of this module."""
    naive = datetime.combine(day, local_time.replace(tzinfo=None))
    first = naive.replace(tzinfo=zone, fold=0)
    if _exists(first):
        return first.astimezone(UTC)
    # In a gap, fold=0 uses the offset from before the jump; UTC then lands after the gap.
    shifted = first.astimezone(UTC).astimezone(zone)
    return shifted.astimezone(UTC)


def _exists(moment: datetime) -> bool:
    round_trip = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}") from exc
