"""The 429 gates store: the same contract on the in-memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enode_scheduler.clock import FakeClock
from enode_scheduler.records import RateGate


async def test_gates_are_upserted_by_user_and_vendor_and_removed_when_reset(
    store: Any, clock: FakeClock
) -> None:
    until = clock.now() + timedelta(minutes=30)
    await store.gates.save_gates(
        [
            RateGate("u1", "TESLA", until, consecutive_429=1),
            RateGate("u1", None, until, consecutive_429=2),
            RateGate(None, None, until + timedelta(minutes=5), consecutive_429=1),
        ]
    )
    later = until + timedelta(minutes=10)
    await store.gates.save_gates([RateGate("u1", "TESLA", later, consecutive_429=2)])
    got = {(g.user_id, g.vendor): g for g in await store.gates.load_gates()}
    assert set(got) == {("u1", "TESLA"), ("u1", None), (None, None)}
    assert got[("u1", "TESLA")].closed_until == later
    assert got[("u1", "TESLA")].consecutive_429 == 2
    assert got[(None, None)].closed_until == until + timedelta(minutes=5)
    await store.gates.save_gates([RateGate("u1", None, None)])
    assert {(g.user_id, g.vendor) for g in await store.gates.load_gates()} == {
        ("u1", "TESLA"),
        (None, None),
    }
    await store.gates.save_gates([])
