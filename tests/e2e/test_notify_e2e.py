"""Notifications end to end: the real daemon, the fake Enode and a loopback webhook receiver.

The receiver refuses at first, so the first events wait in the outbox; the daemon is killed with
SIGKILL, the receiver comes back, a new daemon delivers. Every event arrives once, signed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.notify.targets import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from enode_scheduler.records import OutboxEntry, OutboxStatus, UserRecord
from enode_scheduler.store import open_store
from tests.e2e.harness import sim_time, until
from tests.e2e.scenario import CARS, DEADLINE, USER, Car, Night
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

SECRET = "whsec-e2e-notify-0123456789"
# 150 kWh from 10 % to 100 % needs more than ten hours at 11 kW: at risk, then missed.
BIG = Car("e2e-big", "TESLA", 150.0, 10.0, 100.0)
# Every START to this one is refused by the fake Enode: retries run out, the plan fails.
FAILING = Car("e2e-fail", "BMW", 50.0, 40.0, 80.0)
OTHER_USER = "e2e-relink"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


async def _outbox(night: Night) -> list[OutboxEntry]:
    settings = DatabaseSettings(url=None, auto_migrate=False)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        return await store.outbox.entries(limit=1000)


def _delivered_events(receiver: Receiver, night: Night) -> list[dict[str, Any]]:
    """Every event in the accepted deliveries (a summary carries several), signatures checked."""
    events = []
    for got in receiver.accepted():
        ts = got.headers[TIMESTAMP_HEADER.lower()]
        # The daemon signs with its (accelerated) clock's time, which the test shares.
        now_unix = night.timeline.clock().now().timestamp()
        assert verify_signature(
            SECRET, got.body, timestamp=ts, signature=got.headers[SIGNATURE_HEADER.lower()],
            now_unix=now_unix, window_s=30 * 86400,
        )  # fmt: skip
        body = got.json()
        events.extend(body["events"] if body.get("kind") == "summary" else [body])
    return events


async def test_each_event_once_across_a_kill(tmp_path: Path, receiver: Receiver) -> None:
    night = Night(tmp_path, database_url=None, cars=(*CARS, BIG, FAILING))
    try:
        await _run(night, receiver)
    finally:
        night.close()


async def _run(night: Night, receiver: Receiver) -> None:
    with night.config.open("a") as f:
        f.write(
            "[[notify]]\n"
            'name = "integrator"\n'
            f'webhook_url = "{receiver.url}/enode-scheduler"\n'
            f'webhook_secret = "{SECRET}"\n'
        )
    await night.seed()
    settings = DatabaseSettings(url=None, auto_migrate=True)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        await store.users.upsert_user(UserRecord(OTHER_USER))
        await store.users.mark_needs_relink(OTHER_USER, reason="refresh token revoked")
    night.sim.control(
        "POST", "/faults",
        {"kind": "server_error", "status": 400, "path_prefix": f"/vehicles/{FAILING.vehicle_id}",
         "method": "POST"},
    )  # fmt: skip

    receiver.status = 503
    first = night.start_daemon("first")
    early = {
        "leader_changed:1",
        f"relink_required:{OTHER_USER}:{night.timeline.start.date().isoformat()}",
    }

    def queued() -> set[str]:
        return {e.event.event_id for e in pending}

    pending: list[OutboxEntry] = []
    for _ in range(300):
        pending = [e for e in await _outbox(night) if e.status is OutboxStatus.PENDING]
        at_risk = any(i.startswith(f"goal_at_risk:{BIG.vehicle_id}:") for i in queued())
        if early <= queued() and at_risk and receiver.received:
            break
        await sim_time(night.timeline, night.timeline.clock().now() + timedelta(minutes=2))
    else:
        raise AssertionError(f"events not queued: {queued()}")
    # Killed between the events and their delivery: they wait in the outbox.
    first.kill()
    before_kill = queued()
    assert not receiver.accepted()
    receiver.status = 200

    second = night.start_daemon("second")
    await until(lambda: bool(second.events("daemon_started")), timeout_s=60, what="restart")
    await sim_time(night.timeline, DEADLINE + timedelta(minutes=30))

    def kinds() -> set[str]:
        return {e["event_id"].split(":")[0] for e in _delivered_events(receiver, night)}

    wanted = {"leader_changed", "relink_required", "goal_at_risk", "goal_missed", "command_failed"}
    await until(lambda: wanted <= kinds(), timeout_s=30, what=f"{wanted} delivered")
    assert second.terminate() == 0

    delivered = _delivered_events(receiver, night)
    counts = Counter(e["event_id"] for e in delivered)
    assert counts, "nothing delivered"
    assert max(counts.values()) == 1, f"delivered twice: {counts.most_common(3)}"
    ids = set(counts)
    assert before_kill <= ids, f"lost across the kill: {before_kill - ids}"
    assert {"leader_changed:1", "leader_changed:2"} <= ids
    assert f"goal_missed:{BIG.vehicle_id}:{DEADLINE:%Y-%m-%dT%H:%MZ}" in ids
    assert any(i.startswith(f"command_failed:{FAILING.vehicle_id}:") for i in ids)
    # Refused attempts were retried; the outbox ends with nothing pending.
    assert any(r.status == 503 for r in receiver.received)
    outbox = await _outbox(night)
    assert {e.status for e in outbox} == {OutboxStatus.DELIVERED}
    assert all(e["user_id"] in (USER, OTHER_USER, None) for e in delivered)
