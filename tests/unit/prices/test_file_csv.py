from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.prices.file import read_price_csv


def test_reads_rows_as_contiguous_kwh_slots(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "start_utc,price_eur_per_mwh\n2024-01-01T00:00:00Z,48.98\n2024-01-01T00:15:00Z,-5.00\n"
    )
    slots = read_price_csv(path)
    assert [s.price_per_kwh for s in slots] == pytest.approx([0.04898, -0.005])
    assert slots[0].end == slots[1].start
    assert slots[1].end - slots[1].start == timedelta(minutes=15)
    assert slots[0].start == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("when,price\n", "header"),
        ("start_utc,price_eur_per_mwh\nyesterday,1\n", ":2: not an ISO-8601 time"),
        ("start_utc,price_eur_per_mwh\n2024-01-01T00:00:00Z,abc\n", ":2: not a number"),
        (
            "start_utc,price_eur_per_mwh\n2024-01-01T01:00:00Z,1\n2024-01-01T00:00:00Z,1\n",
            "must increase",
        ),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(PriceFormatError, match=message):
        read_price_csv(path)


def test_real_year_is_8784_gap_free_hours(data_dir: Path) -> None:
    slots = read_price_csv(data_dir / "prices" / "NO2_2024.csv")
    assert len(slots) == 8784
    assert all(a.end == b.start for a, b in itertools.pairwise(slots))
