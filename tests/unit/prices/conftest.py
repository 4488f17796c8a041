from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.file import read_price_csv
from enode_scheduler.prices.normalise import clip

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prices"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def real_prices(data_dir: Path):  # type: ignore[no-untyped-def]
    """Look up the real slots of a shared price file between two UTC instants."""
    cache: dict[str, list[Slot]] = {}

    def lookup(name: str, start: datetime, end: datetime) -> list[Slot]:
        if name not in cache:
            cache[name] = read_price_csv(data_dir / "prices" / name)
        return clip(cache[name], start=start, end=end)

    return lookup
