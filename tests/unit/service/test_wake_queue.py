from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enode_scheduler.service.wake_queue import WakeQueue

T0 = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_due_keys_come_out_earliest_first_and_leave_the_queue() -> None:
    queue = WakeQueue()
    queue.set("b", at(5))
    queue.set("a", at(2))
    queue.set("c", at(9))
    assert queue.pop_due(at(6)) == ["a", "b"]
    assert queue.pop_due(at(6)) == []
    assert queue.earliest() == at(9)
    assert len(queue) == 1


def test_a_new_wish_replaces_the_old_one_either_way() -> None:
    queue = WakeQueue()
    queue.set("a", at(10))
    queue.set("a", at(3))
    queue.set("b", at(4))
    queue.set("b", at(20))
    assert queue.earliest() == at(3)
    assert queue.pop_due(at(15)) == ["a"]
    assert queue.earliest() == at(20)


def test_a_popped_key_set_again_at_the_same_time_is_due_again() -> None:
    queue = WakeQueue()
    queue.set("a", at(1))
    assert queue.pop_due(at(1)) == ["a"]
    queue.set("a", at(1))
    assert queue.pop_due(at(1)) == ["a"]


def test_discarded_keys_never_come_out() -> None:
    queue = WakeQueue()
    queue.set("a", at(1))
    queue.discard("a")
    assert queue.pop_due(at(5)) == []
    assert queue.earliest() is None


def test_pop_due_honours_a_limit_and_wake_by_keeps_earlier_wishes() -> None:
    t0 = T0
    q = WakeQueue()
    q.set("early", t0 - timedelta(seconds=5))
    q.set("late", t0 + timedelta(hours=1))
    q.wake_by(["early", "late", "new"], t0)
    assert q.pop_due(t0, limit=1) == ["early"]
    assert sorted(q.pop_due(t0)) == ["late", "new"]
    assert q.earliest() is None
