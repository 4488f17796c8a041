"""`POST /webhooks/enode`: signatures, partial updates, replays, malformed bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from enode_scheduler.records import UserRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import reading, signature, signed

PROBLEM = "application/problem+json"


def _event(
    vehicle: dict[str, Any], *, at: str = "2026-11-29T11:58:00Z", **kw: Any
) -> dict[str, Any]:
    return {"event": "user:vehicle:updated", "createdAt": at, "user": {"id": "user-1"},
            "vehicle": vehicle} | kw  # fmt: skip


async def _seed(api: Api) -> Api:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1", linked=True))
    await api.deps.vehicles.save_readings([reading("veh-1")])
    return api


@pytest.fixture
async def seeded(api: Api) -> Api:
    """Every backend."""
    return await _seed(api)


@pytest.fixture
async def mem_seeded(mem_api: Api) -> Api:
    """In-memory only: for checks that happen before anything is stored."""
    return await _seed(mem_api)


async def _post(api: Api, body: bytes, sig: str | None, delivery: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if sig is not None:
        headers["X-Enode-Signature"] = sig
    if delivery is not None:
        headers["X-Enode-Delivery"] = delivery
    return await api.client.post("/webhooks/enode", content=body, headers=headers)


async def _veh(api: Api) -> Any:
    return (await api.deps.vehicles.latest_readings(["veh-1"]))["veh-1"]


async def test_good_signature_applies_partial_update(seeded: Api) -> None:
    body, sig = signed(
        [_event({"id": "veh-1", "chargeState": {"batteryLevel": "55", "isCharging": True}})]
    )
    r = await _post(seeded, body, sig, "d-1")
    assert r.status_code == 200, r.text
    assert r.json() == {"events": 1, "applied": 1, "ignored": 0}
    veh = await _veh(seeded)
    assert veh.soc_percent == 55.0
    assert veh.is_charging is True
    assert veh.is_plugged_in is True  # untouched: not in the partial update
    assert veh.battery_capacity_kwh == 75.0
    assert veh.last_seen == datetime(2026, 11, 29, 11, 58, tzinfo=UTC)
    assert seeded.triggers.reconciles == ["veh-1"]
    assert seeded.triggers.replans == []


async def test_plug_in_triggers_replan(seeded: Api) -> None:
    body, sig = signed([_event({"id": "veh-1", "chargeState": {"isPluggedIn": False}})])
    assert (await _post(seeded, body, sig)).status_code == 200
    assert seeded.triggers.replans == ["veh-1"]
    assert (await _veh(seeded)).is_plugged_in is False


@pytest.mark.parametrize(
    "header",
    [None, "", "sha1=" + "0" * 40, "sha256=abc", "garbage"],
)
async def test_bad_or_missing_signature_is_401_and_changes_nothing(
    mem_seeded: Api, header: str | None
) -> None:
    before = await _veh(mem_seeded)
    body, _ = signed([_event({"id": "veh-1", "chargeState": {"batteryLevel": 99}})])
    r = await _post(mem_seeded, body, header)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert await _veh(mem_seeded) == before
    assert mem_seeded.triggers.reconciles == []


async def test_signature_with_other_secret_is_401(seeded: Api) -> None:
    body, sig = signed([_event({"id": "veh-1"})], secret="another-secret")
    assert (await _post(seeded, body, sig)).status_code == 401


async def test_replayed_delivery_is_harmless(seeded: Api) -> None:
    first, sig1 = signed([_event({"id": "veh-1", "chargeState": {"batteryLevel": 50}})])
    second, sig2 = signed(
        [_event({"id": "veh-1", "chargeState": {"batteryLevel": 60}}, at="2026-11-29T11:59:00Z")]
    )
    assert (await _post(seeded, first, sig1, "d-1")).json()["applied"] == 1
    assert (await _post(seeded, second, sig2, "d-2")).json()["applied"] == 1
    # The same delivery again, and the old event under a new delivery id: neither goes back.
    assert (await _post(seeded, first, sig1, "d-1")).json()["applied"] == 0
    assert (await _post(seeded, first, sig1, "d-3")).json()["applied"] == 0
    assert (await _veh(seeded)).soc_percent == 60.0


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b'{"event": "x"}', b'[{"createdAt": "2026-11-29T11:58:00Z"}]',
     b'[{"event": "user:vehicle:updated", "createdAt": "yesterday"}]', b"[1, 2]"],
)  # fmt: skip
async def test_malformed_body_is_400(mem_seeded: Api, body: bytes) -> None:
    r = await _post(mem_seeded, body, signature(body))
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM


async def test_bad_values_unknown_users_and_events_are_skipped(seeded: Api) -> None:
    events = [
        _event({"id": "veh-1", "chargeState": {"batteryLevel": 140}}),
        _event({"id": "veh-1", "chargeState": {"batteryLevel": 41}}, user={"id": "stranger"}),
        _event({"id": "veh-1"}, event="user:vehicle:deleted"),
        {"event": "system:heartbeat", "createdAt": "2026-11-29T11:58:00Z"},
    ]
    body, sig = signed(events)
    r = await _post(seeded, body, sig)
    assert r.status_code == 200
    assert r.json() == {"events": 4, "applied": 0, "ignored": 4}
    assert (await _veh(seeded)).soc_percent == 40.0


async def test_impossible_rate_and_future_last_seen_are_not_stored_as_truth(seeded: Api) -> None:
    vehicle = {
        "id": "veh-1",
        "lastSeen": "2099-01-01T00:00:00Z",
        "chargeState": {"batteryLevel": 45, "isCharging": True, "chargeRate": 9000},
    }
    body, sig = signed([_event(vehicle)])
    assert (await _post(seeded, body, sig)).json()["applied"] == 1
    veh = await _veh(seeded)
    assert veh.soc_percent == 45  # the rest of the event is used
    assert veh.charge_rate_kw is None
    assert veh.last_seen is not None
    assert veh.last_seen <= seeded.clock.now()


async def test_discovered_vehicle_is_created(seeded: Api) -> None:
    vehicle = {"id": "veh-new", "lastSeen": "2026-11-29T11:57:00Z", "isReachable": True,
               "chargingLocationId": None, "information": {"brand": "Volkswagen"},
               "chargeState": {"batteryLevel": 33, "isPluggedIn": True, "chargeRate": None},
               "smartChargingPolicy": {"isEnabled": False, "deadline": None}}  # fmt: skip
    body, sig = signed([_event(vehicle, event="user:vehicle:discovered")])
    assert (await _post(seeded, body, sig)).json()["applied"] == 1
    veh = (await seeded.deps.vehicles.latest_readings(["veh-new"]))["veh-new"]
    assert veh.user_id == "user-1"
    assert veh.vendor == "VOLKSWAGEN"
    assert veh.soc_percent == 33
    assert veh.smart_charging_enabled is False
    assert veh.last_seen == datetime(2026, 11, 29, 11, 57, tzinfo=UTC)
    assert seeded.triggers.replans == ["veh-new"]


async def test_body_over_webhook_cap_is_413(seeded: Api) -> None:
    body, sig = signed([_event({"id": "veh-1", "pad": "x" * 1_100_000})])
    r = await _post(seeded, body, sig)
    assert r.status_code == 413
    assert (await _veh(seeded)).soc_percent == 40.0


async def test_out_of_order_deliveries_keep_the_newest_value_per_field(seeded: Api) -> None:
    early = _event({"id": "veh-1", "lastSeen": "2026-11-29T11:55:00Z",
                    "chargeState": {"batteryLevel": 47, "isPluggedIn": False}})  # fmt: skip
    late = _event({"id": "veh-1", "lastSeen": "2026-11-29T11:57:00Z",
                   "chargeState": {"batteryLevel": 52}})  # fmt: skip
    for events in ([late], [early]):
        body, sig = signed(events)
        assert (await _post(seeded, body, sig)).status_code == 200
    veh = await _veh(seeded)
    assert veh.soc_percent == 52
    assert veh.is_plugged_in is False
    assert veh.last_seen == datetime(2026, 11, 29, 11, 57, tzinfo=UTC)
