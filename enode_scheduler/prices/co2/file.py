"""Carbon intensity from a CSV file: `start_utc,g_co2_per_kwh`, or the layout of data/co2
(`start_utc,g_co2_per_kwh_direct,g_co2_per_kwh_lca`); `.gz` is read compressed. Each row lasts
until the next one starts, like the price files."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Literal

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.models import IntensitySlot
from enode_scheduler.prices.co2.values import clip_intensity, grams, validate_intensity
from enode_scheduler.prices.file import ends_of_rows, parse_utc, read_csv_rows
from enode_scheduler.prices.normalise import as_utc

EmissionFactor = Literal["lifecycle", "direct"]
_ONE_COLUMN = ("start_utc", "g_co2_per_kwh")
_TWO_COLUMNS = ("start_utc", "g_co2_per_kwh_direct", "g_co2_per_kwh_lca")


def read_intensity_csv(path: Path, *, factor: EmissionFactor = "lifecycle") -> list[IntensitySlot]:
    """Read an intensity CSV; `factor` picks the column of a two-column file."""
    rows = read_csv_rows(path)
    header = tuple(rows[0]) if rows else ()
    if header == _ONE_COLUMN:
        column = 1
    elif header == _TWO_COLUMNS:
        column = 2 if factor == "lifecycle" else 1
    else:
        raise PriceFormatError(
            f"{path}: header must be {','.join(_ONE_COLUMN)} or {','.join(_TWO_COLUMNS)}"
        )
    starts: list[datetime] = []
    values: list[float] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise PriceFormatError(f"{path}:{line_no}: expected {len(header)} columns")
        starts.append(parse_utc(row[0], path=path, line_no=line_no))
        values.append(grams(row[column], where=f"{path}:{line_no}"))
    ends = ends_of_rows(starts, path=path)
    return [IntensitySlot(s, e, g) for s, e, g in zip(starts, ends, values, strict=True)]


class FileIntensitySource:
    """IntensitySource over one CSV file (read once, on first use)."""

    def __init__(self, path: Path, *, factor: EmissionFactor = "lifecycle") -> None:
        self.path = path
        self.factor: EmissionFactor = factor
        self._slots: list[IntensitySlot] | None = None

    async def fetch(self, *, start: datetime, end: datetime) -> list[IntensitySlot]:
        if self._slots is None:
            slots = await asyncio.to_thread(read_intensity_csv, self.path, factor=self.factor)
            self._slots = validate_intensity(slots, source=f"file {self.path}")
        return clip_intensity(self._slots, start=as_utc(start), end=as_utc(end))
