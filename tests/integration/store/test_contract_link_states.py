"""OAuth link states: one-time and expiring, the same on the twin, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enode_scheduler.clock import FakeClock


async def test_a_link_state_is_taken_once_and_expired_ones_are_dropped(
    store: Any, clock: FakeClock
) -> None:
    later = clock.now() + timedelta(minutes=10)
    await store.link_states.put_link_state("s-old", user_id="u0", expires_at=clock.now())
    await store.link_states.put_link_state("s-1", user_id="u1", expires_at=later)
    assert await store.link_states.take_link_state("s-1") == ("u1", later)
    assert await store.link_states.take_link_state("s-1") is None  # used: gone
    await clock.advance(1)
    await store.link_states.put_link_state("s-2", user_id="u2", expires_at=later)
    assert await store.link_states.take_link_state("s-old") is None  # expired: dropped
    assert await store.link_states.take_link_state("unknown") is None
