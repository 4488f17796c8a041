"""Prices from local files: the CSV layout of shared/data/prices (`start_utc,price_eur_per_mwh`)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.models import Slot

_CSV_COLUMNS = ("start_utc", "price_eur_per_mwh")


def read_price_csv(path: Path) -> list[Slot]:
    """Read a price CSV into slots priced per kWh; each row lasts until the next row starts.

    The last row lasts as long as the one before it (a file has one constant step).
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise PriceFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not rows or tuple(rows[0]) != _CSV_COLUMNS:
        raise PriceFormatError(f"{path}: header must be {','.join(_CSV_COLUMNS)}")
    starts: list[datetime] = []
    prices_per_kwh: list[float] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise PriceFormatError(f"{path}:{line_no}: expected 2 columns, got {len(row)}")
        starts.append(_parse_utc(row[0], path=path, line_no=line_no))
        prices_per_kwh.append(_parse_price(row[1], path=path, line_no=line_no) / 1000.0)
    return _slots_from_starts(starts, prices_per_kwh, path=path)


def _slots_from_starts(starts: list[datetime], prices: list[float], *, path: Path) -> list[Slot]:
    if not starts:
        return []
    if len(starts) == 1:
        ends = [starts[0] + timedelta(hours=1)]
    else:
        ends = [*starts[1:], starts[-1] + (starts[-1] - starts[-2])]
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if end <= start:
            raise PriceFormatError(f"{path}:{index + 2}: start times must increase")
    return [Slot(s, e, p) for s, e, p in zip(starts, ends, prices, strict=True)]


def _parse_utc(text: str, *, path: Path, line_no: int) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PriceFormatError(f"{path}:{line_no}: not an ISO-8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise PriceFormatError(f"{path}:{line_no}: time without a zone: {text!r}")
    return value.astimezone(UTC)


def _parse_price(text: str, *, path: Path, line_no: int) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise PriceFormatError(f"{path}:{line_no}: not a number: {text!r}") from exc
