"""The outbox worker over the in-memory outbox: delivery, retries, rate limit and summaries."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from enode_scheduler.config import NotifyTarget
from enode_scheduler.notify.dispatch import BURST, MAX_ATTEMPTS, Notifications
from enode_scheduler.notify.targets import DeliveryFailed, Message
from enode_scheduler.records import EventKind, NotifyEvent, OutboxStatus
from enode_scheduler.testing import InMemoryOutboxStore

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Message] = []
        self.fail: str | None = None

    async def send(self, message: Message, *, now: datetime) -> None:
        if self.fail:
            raise DeliveryFailed(self.fail)
        self.sent.append(message)


def _event(i: int, kind: EventKind = EventKind.COMMAND_FAILED) -> NotifyEvent:
    return NotifyEvent(f"{kind.value}:v{i}", kind, NOW, f"title {i}", f"message {i}", f"v{i}")


def _setup(
    *, per_hour: int = 20, events: tuple[str, ...] = ("command_failed", "goal_missed")
) -> tuple[Notifications, Recorder, InMemoryOutboxStore]:
    outbox = InMemoryOutboxStore()
    target = Recorder("ops")
    settings = NotifyTarget(name="ops", url="json://127.0.0.1:9/", events=events,  # type: ignore[arg-type]
                            max_per_hour=per_hour)  # fmt: skip
    return Notifications(outbox, {"ops": target}, [settings], rng=random.Random(1)), target, outbox


async def test_only_wanted_events_are_queued_and_each_once() -> None:
    n, target, _ = _setup()
    assert await n.publish([_event(1), _event(2, EventKind.LEADER_CHANGED)], now=NOW) == 1
    assert await n.publish([_event(1)], now=NOW) == 0
    report = await n.deliver_due(now=NOW)
    assert (report.delivered, report.messages, report.summaries) == (1, 1, 0)
    assert [m.events[0].event_id for m in target.sent] == ["command_failed:v1"]
    assert (await n.deliver_due(now=NOW)).delivered == 0


async def test_a_storm_is_one_summary() -> None:
    n, target, outbox = _setup()
    await n.publish([_event(i) for i in range(1000)], now=NOW)
    delivered = 0
    while (report := await n.deliver_due(now=NOW)).delivered:
        delivered += report.delivered
    assert delivered == 1000
    assert len(target.sent) == 2  # the outbox hands out 500 rows a round
    assert all(m.summary for m in target.sent)
    assert target.sent[0].title.startswith("500 events: 500 × command_failed")
    assert all(e.status is OutboxStatus.DELIVERED for e in await outbox.entries(limit=2000))


async def test_a_few_events_go_one_by_one() -> None:
    n, target, _ = _setup()
    await n.publish([_event(i) for i in range(BURST)], now=NOW)
    await n.deliver_due(now=NOW)
    assert [len(m.events) for m in target.sent] == [1] * BURST


async def test_the_hourly_cap_defers_then_summarises() -> None:
    n, target, outbox = _setup(per_hour=2)
    await n.publish([_event(1)], now=NOW)
    await n.deliver_due(now=NOW)
    await n.publish([_event(2)], now=NOW)
    await n.deliver_due(now=NOW)
    await n.publish([_event(3), _event(4)], now=NOW)
    report = await n.deliver_due(now=NOW)
    assert (report.deferred, len(target.sent)) == (2, 2)
    assert await outbox.due(NOW + timedelta(minutes=59), limit=10) == []
    later = NOW + timedelta(hours=1)
    await n.deliver_due(now=later)
    assert [len(m.events) for m in target.sent] == [1, 1, 1, 1]


async def test_failures_back_off_then_deliver_and_give_up_at_last() -> None:
    n, target, outbox = _setup()
    await n.publish([_event(1)], now=NOW)
    target.fail = "HTTP 503"
    assert (await n.deliver_due(now=NOW)).failed == 1
    [entry] = await outbox.entries()
    assert entry.attempts == 1
    assert entry.last_error == "HTTP 503"
    assert timedelta(seconds=15) <= entry.next_attempt_at - NOW <= timedelta(seconds=30)
    assert await outbox.due(NOW + timedelta(seconds=14), limit=10) == []
    target.fail = None
    assert (await n.deliver_due(now=entry.next_attempt_at)).delivered == 1
    # A target that never answers: given up after MAX_ATTEMPTS, kept as dead.
    await n.publish([_event(2)], now=NOW)
    target.fail = "refused"
    at = NOW
    for _ in range(MAX_ATTEMPTS):
        await n.deliver_due(now=at)
        at += timedelta(hours=2)
    dead = [e for e in await outbox.entries() if e.event.event_id == "command_failed:v2"]
    assert dead[0].status is OutboxStatus.DEAD
    assert dead[0].attempts == MAX_ATTEMPTS


def test_a_target_needs_exactly_one_destination() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        NotifyTarget(name="x")
    with pytest.raises(ValueError, match="webhook_secret"):
        NotifyTarget(name="x", webhook_url="http://127.0.0.1:9/")  # type: ignore[arg-type]
