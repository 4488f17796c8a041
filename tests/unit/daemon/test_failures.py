"""A failing step backs off and logs once per interval (the leases: test_ownership.py)."""

from __future__ import annotations

import random

from enode_scheduler.daemon.failures import LOG_INTERVAL_S, FailureState
from enode_scheduler.exceptions import StoreError


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
