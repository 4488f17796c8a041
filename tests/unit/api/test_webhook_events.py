"""Signature check, delivery parsing and the merge of partial vehicle updates."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.api.webhook_events import (
    FieldTimes,
    blank_reading,
    merge,
    parse_delivery,
    parse_patch,
    patch_changes,
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


def _changes(raw: dict[str, object]) -> dict[str, object]:
    return patch_changes(parse_patch({"id": "v"} | raw))


def test_merge_replaces_only_sent_fields_and_nulls_sent_as_null() -> None:
    sent = {"chargeState": {"batteryLevel": 50, "chargeRate": 11, "isCharging": True}}
    base = merge(blank_reading("v", "u"), _changes(sent), seen=SEEN)
    stop = {"chargeState": {"chargeRate": None, "isCharging": False}}
    later = merge(base, _changes(stop), seen=SEEN + timedelta(minutes=1))
    assert later.soc_percent == 50
    assert later.charge_rate_kw is None
    assert later.is_charging is False
    assert later.last_seen == SEEN + timedelta(minutes=1)
    assert merge(later, {}, seen=SEEN).last_seen == later.last_seen  # never moves back


def test_late_delivery_sets_only_fields_nothing_newer_set() -> None:
    times = FieldTimes()
    stored = merge(
        blank_reading("v", "u"), _changes({"chargeState": {"batteryLevel": 40}}), seen=SEEN
    )
    early = _changes({"chargeState": {"batteryLevel": 47, "isPluggedIn": False}})
    late = _changes({"chargeState": {"batteryLevel": 52}})
    t1, t2 = SEEN + timedelta(minutes=1), SEEN + timedelta(minutes=2)
    # The later delivery arrives first ...
    kept = times.fresh(stored, late, vehicle_id="v", at=t2)
    stored = merge(stored, kept, seen=t2)
    times.seen("v", stored.last_seen)
    # ... then the earlier one: its plug state is news, its SoC is not.
    kept = times.fresh(stored, early, vehicle_id="v", at=t1)
    assert kept == {"is_plugged_in": False}
    stored = merge(stored, kept, seen=t1)
    assert (stored.soc_percent, stored.is_plugged_in, stored.last_seen) == (52, False, t2)


def test_a_newer_stored_reading_outranks_remembered_field_times() -> None:
    times = FieldTimes()
    stored = merge(blank_reading("v", "u"), {"soc_percent": 40.0}, seen=SEEN)
    times.fresh(stored, {"soc_percent": 41.0}, vehicle_id="v", at=SEEN + timedelta(minutes=1))
    polled = merge(stored, {"soc_percent": 60.0}, seen=SEEN + timedelta(minutes=10))
    stale = times.fresh(
        polled, {"soc_percent": 45.0}, vehicle_id="v", at=SEEN + timedelta(minutes=5)
    )
    assert stale == {}


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
    one = merge(blank_reading("v", "u"), _changes({"chargeState": first}), seen=SEEN)
    patch = _changes({"chargeState": second})
    two = merge(one, patch, seen=SEEN)
    assert merge(two, patch, seen=SEEN) == two
    expected = second.get("batteryLevel", first.get("batteryLevel"))
    assert two.soc_percent == expected
    assert two.is_charging == second.get("isCharging", first.get("isCharging"))
