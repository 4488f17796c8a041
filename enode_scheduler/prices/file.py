"""Prices from local files, for offline use, tests, the demo and backtests.

Two layouts: the CSV of data/prices (`start_utc,price_eur_per_mwh`, each row lasting until
the next), and a JSON list of `{"start", "end", "spot_per_mwh"}` objects in UTC (what
`prices show --json` prints, so its output can be fed back).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.normalise import (
    as_utc,
    clip,
    merge_series,
    parse_time,
    require_some,
    validate_series,
)
from enode_scheduler.prices.zones import get_zone

# Real prices shipped with the package for the demo: two weeks of NO2 (hourly, Oct 2024) and a
# week of NO1 (15 min, Oct 2025); both hold a 25-hour DST day.
PACKAGED_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

_CSV_COLUMNS = ("start_utc", "price_eur_per_mwh")


def read_price_csv(path: Path) -> list[Slot]:
    """Read a price CSV into slots priced per kWh; each row lasts until the next row starts.

    The last row lasts as long as the one before it (a file has one constant step).
    """
    rows = read_csv_rows(path)
    if not rows or tuple(rows[0]) != _CSV_COLUMNS:
        raise PriceFormatError(f"{path}: header must be {','.join(_CSV_COLUMNS)}")
    starts: list[datetime] = []
    prices_per_kwh: list[float] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise PriceFormatError(f"{path}:{line_no}: expected 2 columns, got {len(row)}")
        starts.append(parse_utc(row[0], path=path, line_no=line_no))
        prices_per_kwh.append(_parse_price(row[1], path=path, line_no=line_no) / 1000.0)
    return _slots_from_starts(starts, prices_per_kwh, path=path)


def read_csv_rows(path: Path) -> list[list[str]]:
    """All rows of a CSV file, gzip-compressed when its name ends in `.gz`."""
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rt", newline="", encoding="utf-8") as handle:
                return list(csv.reader(handle))
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.reader(handle))
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise PriceFormatError(f"{path}: cannot read: {reason}") from exc
    except UnicodeDecodeError as exc:
        raise PriceFormatError(f"{path}: not UTF-8 text") from exc


def _slots_from_starts(starts: list[datetime], prices: list[float], *, path: Path) -> list[Slot]:
    ends = ends_of_rows(starts, path=path)
    return [Slot(s, e, p) for s, e, p in zip(starts, ends, prices, strict=True)]


def ends_of_rows(starts: list[datetime], *, path: Path) -> list[datetime]:
    """Each row lasts until the next starts; the last as long as the one before (or an hour)."""
    if not starts:
        return []
    if len(starts) == 1:
        ends = [starts[0] + timedelta(hours=1)]
    else:
        ends = [*starts[1:], starts[-1] + (starts[-1] - starts[-2])]
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if end <= start:
            raise PriceFormatError(f"{path}:{index + 2}: start times must increase")
    return ends


def parse_utc(text: str, *, path: Path, line_no: int) -> datetime:
    return parse_time(text, f"{path}:{line_no}")


def _parse_price(text: str, *, path: Path, line_no: int) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise PriceFormatError(f"{path}:{line_no}: not a number: {text!r}") from exc


def read_price_json(path: Path) -> list[Slot]:
    """Read a JSON list of `{"start", "end", "spot_per_mwh"}` objects; other keys are ignored."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PriceFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise PriceFormatError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise PriceFormatError(f"{path}: expected a JSON list of slots")
    return sorted(
        (_json_slot(item, path=path, index=i) for i, item in enumerate(items)),
        key=lambda s: s.start,
    )


def read_price_file(path: Path) -> list[Slot]:
    """Read a `.json` or `.csv` price file by its suffix."""
    if path.suffix.lower() == ".json":
        return read_price_json(path)
    return read_price_csv(path)


class FilePriceSource:
    """PriceSource over a price file, or a folder of `<ZONE>_<anything>.csv|json` files.

    A single file serves every zone. In a folder, all files of the zone are merged, the finer
    resolution winning where they overlap. `path=None` serves the packaged demo data.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = PACKAGED_DATA_DIR if path is None else path
        self._cache: dict[str, list[Slot]] = {}

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        start, end = as_utc(start), as_utc(end)
        key = get_zone(zone).name
        series = await self.series(key)
        slots = clip(series, start=start, end=end)
        if not slots and series:
            # A file never gains days: say which it holds, not that prices are still to come.
            raise PricesNotPublished(
                f"file {self.path}: no prices for {_span(start, end)} in {key}; the file covers "
                f"{_span(series[0].start, series[-1].end)} only "
                '(prices.source = "replay" lays its days onto any date)'
            )
        return require_some(slots, source=f"file {self.path}", start=start, end=end)

    async def series(self, zone: str) -> list[Slot]:
        """Every slot the file holds for the zone."""
        key = get_zone(zone).name
        if key not in self._cache:
            self._cache[key] = await asyncio.to_thread(self._load, key)
        return self._cache[key]

    def _load(self, zone: str) -> list[Slot]:
        files = zone_files(self.path, zone) if self.path.is_dir() else [self.path]
        if not files:
            raise PriceFormatError(f"{self.path}: no price file for zone {zone}")
        merged = merge_series(read_price_file(f) for f in files)
        return validate_series(merged, source=str(self.path))


def _span(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC"


def zone_files(folder: Path, zone: str) -> list[Path]:
    """Files named `<ZONE>_<digit>...` with a .csv or .json suffix, e.g. `NO1_2025_15min.csv`."""
    prefix = f"{zone}_"
    return sorted(
        f
        for f in folder.iterdir()
        if f.suffix.lower() in (".csv", ".json")
        and f.name.upper().startswith(prefix)
        and f.name[len(prefix) : len(prefix) + 1].isdigit()
    )


def _json_slot(item: object, *, path: Path, index: int) -> Slot:
    where = f"{path}: item {index}"
    if not isinstance(item, dict):
        raise PriceFormatError(f"{where}: expected an object")
    try:
        start = as_utc(datetime.fromisoformat(str(item["start"])))
        end = as_utc(datetime.fromisoformat(str(item["end"])))
        spot_per_mwh = item["spot_per_mwh"]
    except KeyError as exc:
        raise PriceFormatError(f"{where}: missing key {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise PriceFormatError(f"{where}: bad time: {exc}") from exc
    if not isinstance(spot_per_mwh, int | float) or isinstance(spot_per_mwh, bool):
        raise PriceFormatError(f"{where}: spot_per_mwh must be a number")
    return Slot(start, end, spot_per_mwh / 1000.0)
