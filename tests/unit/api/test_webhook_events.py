"""Signature check, delivery parsing and the merge of partial vehicle updates."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.daemon.webhook_events import (
    blank_reading,
    merge,
    parse_delivery,
    parse_patch,
    signature_ok,
)
from enode_scheduler.exceptions import InvalidInput

SECRET = "s" * 32
SEEN = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _sig(body: bytes, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def test_signature_ok_only_for_the_exact_body_and_secret() -> None:
    body = b'[{"event": "x"}]'
    assert signature_ok(body, _sig(body), secret=SECRET)
    assert signature_ok(body, _sig(body).upper().replace("SHA1=", "sha1="), secret=SECRET)
    assert not signature_ok(body + b" ", _sig(body), secret=SECRET)
    assert not signature_ok(body, _sig(body, "other"), secret=SECRET)
    assert not signature_ok(body, _sig(body)[5:], secret=SECRET)
    assert not signature_ok(body, None, secret=SECRET)


def test_parse_delivery_names_the_bad_field() -> None:
    events = parse_delivery(
        b'[{"event": "user:vehicle:updated", "createdAt": "2026-11-29T12:00:00Z"}]'
    )
    assert events[0].created_at == SEEN
    with pytest.raises(InvalidInput, match="createdAt"):
        parse_delivery(b'[{"event": "user:vehicle:updated"}]')
    with pytest.raises(InvalidInput):
        parse_delivery(b'{"event": "x"}')


def test_naive_timestamps_are_taken_as_utc() -> None:
    patch = parse_patch({"id": "v", "lastSeen": "2026-11-29T12:00:00"})
    assert patch.last_seen == SEEN


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "v", "chargeState": {"batteryLevel": 101}},
        {"id": "v", "chargeState": {"batteryLevel": "lots"}},
        {"id": "v", "chargeState": {"isCharging": "perhaps"}},
        {"id": ""},
        {"chargeState": {}},
    ],
)
def test_bad_vehicle_values_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="vehicle"):
        parse_patch(raw)


def test_merge_replaces_only_sent_fields_and_nulls_sent_as_null() -> None:
    base = merge(
        blank_reading("v", "u"),
        parse_patch(
            {"id": "v", "chargeState": {"batteryLevel": 50, "chargeRate": 11, "isCharging": True}}
        ),
        seen=SEEN,
    )
    later = merge(
        base,
        parse_patch({"id": "v", "chargeState": {"chargeRate": None, "isCharging": False}}),
        seen=SEEN + timedelta(minutes=1),
    )
    assert later.soc_percent == 50
    assert later.charge_rate_kw is None
    assert later.is_charging is False
    assert later.last_seen == SEEN + timedelta(minutes=1)


_CHARGE = st.fixed_dictionaries(
    {},
    optional={
        "batteryLevel": st.floats(0, 100),
        "isPluggedIn": st.booleans(),
        "isCharging": st.booleans(),
        "chargeRate": st.none() | st.floats(0, 350),
        "chargeLimit": st.floats(0, 100),
        "isChargingReasons": st.lists(st.sampled_from(["DEFAULT", "MANUALLY_STARTED"])),
    },
)


@given(first=_CHARGE, second=_CHARGE)
def test_merge_is_idempotent_and_later_patches_win(
    first: dict[str, object], second: dict[str, object]
) -> None:
    one = merge(blank_reading("v", "u"), parse_patch({"id": "v", "chargeState": first}), seen=SEEN)
    patch = parse_patch({"id": "v", "chargeState": second})
    two = merge(one, patch, seen=SEEN)
    assert merge(two, patch, seen=SEEN) == two
    expected = second.get("batteryLevel", first.get("batteryLevel"))
    assert two.soc_percent == expected
    assert two.is_charging == second.get("isCharging", first.get("isCharging"))
