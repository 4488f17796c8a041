"""The fleet benchmark's lease history: moves, takeovers and lost spans from polled owners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from benchmarks.fleet_leases import LeaseHistory, Poll

T0 = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)


def replay(*polls: dict[int, str | None]) -> LeaseHistory:
    """Polls one wall second (and one sim minute) apart, the first at wall second 0."""
    history = LeaseHistory(shards=3)
    previous = Poll(0.0, T0)
    for second, owners in enumerate(polls):
        poll = Poll(float(second), T0 + timedelta(minutes=second))
        history.see(owners, previous=previous, poll=poll)
        previous = poll
    return history


# "a" is killed after the second poll; its shards 0 and 1 expire, then "b" and "c" claim them,
# and "a" (restarted under the same name, as a paused replica would be) takes shard 1 back.
NIGHT = replay(
    {0: "a", 1: "a", 2: "b"},
    {0: "a", 1: "a", 2: "b"},
    {0: None, 1: None, 2: "b"},
    {0: "b", 1: None, 2: "b"},
    {0: "b", 1: "c", 2: "b"},
    {0: "b", 1: "a", 2: "b"},
)


def test_a_move_is_a_new_holder_with_or_without_a_gap_between() -> None:
    # First claims are no moves; a -> (expired) -> b, a -> c and c -> a are.
    assert NIGHT.moves(since_wall_s=0.0, until_wall_s=10.0) == 3
    assert NIGHT.moves(since_wall_s=0.0, until_wall_s=4.0) == 2
    assert NIGHT.owners_at(3.5) == {0: "b", 1: None, 2: "b"}


def test_a_takeover_ends_when_every_shard_of_the_struck_holder_has_another_live_owner() -> None:
    taken = NIGHT.taken_over({0, 1}, holder="a", since_wall_s=1.5)
    assert taken == Poll(4.0, T0 + timedelta(minutes=4))
    # A shard never taken from its holder leaves the takeover open.
    assert NIGHT.taken_over({0, 2}, holder="b", since_wall_s=0.0) is None
    assert NIGHT.taken_over(set(), holder="a", since_wall_s=0.0) is None


def test_a_lost_shard_is_surely_anothers_from_the_poll_that_saw_it_to_the_last_before_return() -> (
    None
):
    lost = NIGHT.lost({0, 1}, holder="a", since_wall_s=1.5)
    assert lost == {
        0: (T0 + timedelta(minutes=3), None),
        1: (T0 + timedelta(minutes=4), T0 + timedelta(minutes=4)),
    }
