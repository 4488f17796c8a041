from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.file import FilePriceSource, read_price_json
from enode_scheduler.prices.zones import get_zone


def test_json_list_reads_start_end_and_spot(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    items = [
        {"start": "2024-01-01T01:00:00Z", "end": "2024-01-01T01:15:00Z", "spot_per_mwh": -5},
        {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T01:00:00Z", "spot_per_mwh": 48.98,
         "price_per_kwh": 0.2},
    ]  # fmt: skip
    path.write_text(json.dumps(items))
    slots = read_price_json(path)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    assert slots == [
        Slot(t0, t0 + timedelta(hours=1), pytest.approx(0.04898)),  # type: ignore[arg-type]
        Slot(t0 + timedelta(hours=1), t0 + timedelta(minutes=75), -0.005),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{}", "expected a JSON list"),
        ("[1]", "item 0: expected an object"),
        ('[{"start": "2024-01-01T00:00:00Z", "spot_per_mwh": 1}]', "missing key 'end'"),
        ('[{"start": "2024-01-01T00:00:00", "end": "2024-01-01T01:00:00Z", "spot_per_mwh": 1}]',
         "bad time"),
        ('[{"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T01:00:00Z", "spot_per_mwh": "1"}]',
         "must be a number"),
        ("[", "not JSON"),
    ],
)  # fmt: skip
def test_bad_json_files_name_the_item(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(body)
    with pytest.raises(PriceFormatError, match=message):
        read_price_json(path)


async def test_packaged_data_serves_the_demo_zones() -> None:
    source = FilePriceSource()
    start, end = get_zone("NO2").day_bounds(date(2024, 10, 27))
    hours = await source.fetch("NO2", start=start, end=end)
    assert len(hours) == 25
    start, end = get_zone("NO1").day_bounds(date(2025, 10, 26))
    quarters = await source.fetch("NO1", start=start, end=end)
    assert len(quarters) == 100


async def test_outside_the_file_is_not_published() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(PricesNotPublished):
        await FilePriceSource().fetch("NO2", start=start, end=start + timedelta(days=1))


async def test_zone_without_file_is_a_format_error(tmp_path: Path) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(PriceFormatError, match="no price file for zone SE3"):
        await FilePriceSource(tmp_path).fetch("SE3", start=start, end=start + timedelta(days=1))


async def test_data_folder_joins_hourly_and_quarter_files_at_the_2025_switch(
    data_dir: Path,
) -> None:
    source = FilePriceSource(data_dir / "prices")
    switch = datetime(2025, 9, 30, 22, tzinfo=UTC)
    slots = await source.fetch(
        "NO1", start=switch - timedelta(hours=2), end=switch + timedelta(hours=1)
    )
    steps = [s.end - s.start for s in slots]
    assert steps == [timedelta(hours=1)] * 2 + [timedelta(minutes=15)] * 4
    assert slots[2].start == switch


async def test_a_single_file_serves_any_zone(data_dir: Path) -> None:
    source = FilePriceSource(data_dir / "prices" / "FR_2024.csv")
    start, end = get_zone("FR").day_bounds(date(2024, 3, 31))
    slots = await source.fetch("DE_LU", start=start, end=end)
    assert len(slots) == 23
