"""The car page's in-memory SoC history: new readings only, bounded per vehicle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enode_scheduler.api.web.history import SocHistory
from tests.integration.api.support import reading

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def test_keeps_new_readings_in_order_and_bounded() -> None:
    history = SocHistory(per_vehicle=3)
    for minutes, soc in ((0, 40.0), (0, 41.0), (10, 42.0), (5, 99.0), (20, 43.0), (30, 44.0)):
        history.observe([reading("v1", soc_percent=soc, last_seen=T0 + timedelta(minutes=minutes))])
    history.observe([None, reading("v2", soc_percent=None), reading("v3", last_seen=None)])
    assert history("v1") == [
        (T0 + timedelta(minutes=10), 42.0),
        (T0 + timedelta(minutes=20), 43.0),
        (T0 + timedelta(minutes=30), 44.0),
    ]
    assert history("v2") == []
    assert history("unknown") == []
