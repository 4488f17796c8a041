"""A failing step backs off and logs once per interval; a lease is not used past its local end."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.daemon.failures import LOG_INTERVAL_S, FailureState
from enode_scheduler.daemon.leader import Leadership
from enode_scheduler.exceptions import LostLeadership, StoreError
from enode_scheduler.ports import LEADER_LEASE
from enode_scheduler.records import Lease
from enode_scheduler.testing import InMemoryLeaseStore


def test_backoff_is_never_zero_doubles_and_is_capped() -> None:
    state = FailureState(base_s=0.5, cap_s=10.0, rng=random.Random(1))
    delays = []
    for _ in range(12):
        state.failed(StoreError("down"), now_mono=0.0)
        delays.append(state.delay_s())
    assert all(d >= 0.25 for d in delays)
    assert delays[0] <= 0.5
    assert 5.0 <= delays[-1] <= 10.0
    assert max(delays) <= 10.0


def test_one_log_line_per_interval_and_the_episode_is_reported_once() -> None:
    state = FailureState(base_s=0.5, cap_s=10.0)
    # A step failing 45 times a second for a minute: one line per interval, not 2,700.
    logged = sum(state.failed(StoreError("read-only"), now_mono=i / 45) for i in range(45 * 60))
    assert logged == 60 / LOG_INTERVAL_S
    assert state.failing
    assert state.last_error == "StoreError"
    assert state.succeeded(now_mono=60.0) == (45 * 60, 60.0)
    assert state.succeeded(now_mono=61.0) is None
    assert not state.failing


class Mono:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_a_lease_is_not_used_past_its_local_deadline() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    mono = Mono()
    leadership = Leadership(InMemoryLeaseStore(clock=clock), holder="a", ttl_s=30, monotonic=mono)
    assert await leadership.renew()
    assert leadership.epoch == 1
    leadership.check_may_send()
    # Paused (SIGSTOP, a VM freeze) past TTL less the margin: no renewal could have happened.
    mono.t += 30 - leadership.margin_s
    assert leadership.epoch is None
    with pytest.raises(LostLeadership):
        leadership.check_may_send()
    # Renewed in time (the database still has it): leading again with the same epoch.
    assert await leadership.renew()
    assert leadership.epoch == 1
    leadership.check_may_send()


class RefusingLeases(InMemoryLeaseStore):
    async def acquire(self, name: str, *, holder: str, ttl_s: float) -> Lease | None:
        raise StoreError("database error: ConnectionRefusedError")


async def test_a_lease_that_cannot_be_renewed_is_given_up() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    leases = InMemoryLeaseStore(clock=clock)
    leadership = Leadership(leases, holder="a", ttl_s=30)
    assert await leadership.renew()
    leadership._leases = RefusingLeases(clock=clock)
    assert not await leadership.renew()
    assert leadership.epoch is None
    assert not leadership.reachable
    assert await leases.current(LEADER_LEASE) is not None  # only the database can expire it
