"""Overrides decide over the plan until they end; API tokens and their scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enode_scheduler.api.auth import TokenTable, hash_token
from enode_scheduler.config import ApiToken
from enode_scheduler.records import OverrideKind, OverrideRecord
from enode_scheduler.service.overrides import desired_charging

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _override(kind: OverrideKind, **kw: object) -> OverrideRecord:
    return OverrideRecord(vehicle_id="v", kind=kind, created_at=NOW, **kw)  # type: ignore[arg-type]


def test_charge_now_until_soc_ends_at_the_soc() -> None:
    boost = _override(OverrideKind.CHARGE_NOW, until_soc_percent=80.0)
    assert desired_charging(boost, now=NOW, soc_percent=50.0) is True
    assert desired_charging(boost, now=NOW, soc_percent=None) is True
    assert desired_charging(boost, now=NOW, soc_percent=80.0) is None


def test_charge_now_with_soc_and_time_ends_at_whichever_first() -> None:
    boost = _override(
        OverrideKind.CHARGE_NOW, until=NOW + timedelta(hours=1), until_soc_percent=90.0
    )
    assert desired_charging(boost, now=NOW + timedelta(minutes=59), soc_percent=60.0) is True
    assert desired_charging(boost, now=NOW + timedelta(hours=1), soc_percent=60.0) is None


def test_pause_holds_until_its_time_whatever_the_soc() -> None:
    pause = _override(OverrideKind.PAUSE, until=NOW + timedelta(hours=2))
    assert desired_charging(pause, now=NOW, soc_percent=5.0) is False
    assert desired_charging(pause, now=NOW + timedelta(hours=2), soc_percent=5.0) is None
    assert desired_charging(None, now=NOW, soc_percent=5.0) is None


def test_token_table_identifies_by_hash_and_grants_write_read() -> None:
    table = TokenTable(
        [
            ApiToken(name="r", scope="read", sha256=hash_token("reader-token-123456")),
            ApiToken(name="w", scope="write", sha256=hash_token("writer-token-123456")),
        ]
    )
    reader = table.identify("reader-token-123456")
    assert reader is not None
    assert (reader.name, reader.scope) == ("r", "read")
    assert table.identify("writer-token-123456") is not None
    assert table.identify("") is None
    assert table.identify(hash_token("reader-token-123456")) is None
