"""The notification outbox: the same contract on the in-memory twin, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enode_scheduler.clock import FakeClock
from enode_scheduler.records import EventKind, NotifyEvent, OutboxEntry, OutboxStatus
from tests.integration.store.conftest import START


def _entry(event_id: str, target: str = "ops", *, at_s: float = 0) -> OutboxEntry:
    event = NotifyEvent(
        event_id=event_id, kind=EventKind.GOAL_MISSED, at=START, title="t", message="m",
        vehicle_id="v1", user_id="u1",
    )  # fmt: skip
    return OutboxEntry(event=event, target=target, next_attempt_at=START + timedelta(seconds=at_s))


async def test_enqueue_is_unique_per_event_and_target(store: Any) -> None:
    assert await store.outbox.enqueue([_entry("a"), _entry("a", "hook"), _entry("b")]) == 3
    assert await store.outbox.enqueue([_entry("a"), _entry("c")]) == 1
    due = await store.outbox.due(START, limit=10)
    assert [(e.event.event_id, e.target) for e in due] == [
        ("a", "ops"), ("a", "hook"), ("b", "ops"), ("c", "ops"),
    ]  # fmt: skip
    first = due[0]
    assert first.event.kind is EventKind.GOAL_MISSED
    assert first.event.at == START
    assert first.event.vehicle_id == "v1"
    assert first.status is OutboxStatus.PENDING


async def test_due_respects_time_and_limit(store: Any) -> None:
    await store.outbox.enqueue([_entry("now"), _entry("later", at_s=60)])
    assert [e.event.event_id for e in await store.outbox.due(START, limit=10)] == ["now"]
    assert len(await store.outbox.due(START + timedelta(seconds=60), limit=10)) == 2
    assert len(await store.outbox.due(START + timedelta(seconds=60), limit=1)) == 1


async def test_delivered_failed_dead_and_deferred(store: Any, clock: FakeClock) -> None:
    await store.outbox.enqueue([_entry("a"), _entry("b"), _entry("c")])
    a, b, c = await store.outbox.due(START, limit=10)
    await store.outbox.mark_delivered([a.entry_id], at=START)
    later = START + timedelta(seconds=30)
    await store.outbox.mark_failed(b.entry_id, error="HTTP 503", next_attempt_at=later)
    await store.outbox.defer([c.entry_id], until=later)
    assert await store.outbox.due(START, limit=10) == []
    retry = await store.outbox.due(later, limit=10)
    assert [(e.event.event_id, e.attempts, e.last_error) for e in retry] == [
        ("b", 1, "HTTP 503"), ("c", 0, None),
    ]  # fmt: skip
    await store.outbox.mark_failed(b.entry_id, error="gone", next_attempt_at=later, dead=True)
    assert [e.event.event_id for e in await store.outbox.due(later, limit=10)] == ["c"]
    statuses = {e.event.event_id: (e.status, e.delivered_at) for e in await store.outbox.entries()}
    assert statuses["a"] == (OutboxStatus.DELIVERED, START)
    assert statuses["b"] == (OutboxStatus.DEAD, None)
    # Delivered and dead rows still count as seen: the same event is not queued again.
    assert await store.outbox.enqueue([_entry("a"), _entry("b")]) == 0
