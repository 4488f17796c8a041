"""The shard of a user is stable and spread; the fair share splits every shard exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from enode_scheduler.shards import fair_share, shard_of, site_keys


def test_shard_of_is_stable_across_processes() -> None:
    # Fixed values: a change of hash would move every user's shard on upgrade.
    assert [shard_of(f"user-{i}", 256) for i in range(5)] == [
        shard_of(f"user-{i}", 256) for i in range(5)
    ]
    assert shard_of("user-0", 256) == 113
    assert all(0 <= shard_of(f"u{i}", 7) < 7 for i in range(200))


def test_shard_of_spreads_users_evenly() -> None:
    counts = Counter(shard_of(f"user-{i}", 16) for i in range(16_000))
    assert set(counts) == set(range(16))
    assert max(counts.values()) < 1.2 * 1000
    assert min(counts.values()) > 0.8 * 1000


def test_shard_of_refuses_no_shards() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard_of("u", 0)


@pytest.mark.parametrize(("total", "n"), [(256, 1), (256, 3), (10, 4), (2, 3), (4096, 7)])
def test_fair_share_adds_up_to_the_total(total: int, n: int) -> None:
    holders = [f"r{i}" for i in range(n)]
    shares = [fair_share(total, holders, me) for me in holders]
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


def test_fair_share_gives_the_extra_to_the_first_by_name() -> None:
    holders = ["c", "a", "b"]
    assert [fair_share(10, holders, me) for me in ("a", "b", "c")] == [4, 3, 3]


def test_fair_share_counts_me_when_the_list_missed_me() -> None:
    assert fair_share(256, [], "me") == 256
    assert fair_share(256, ["other"], "me") == 128


def test_users_of_a_site_share_its_key_and_others_keep_theirs() -> None:
    keys = site_keys([("yard", "u1"), ("yard", "u2"), ("depot", "u3")])
    assert keys == {"u1": "site:yard", "u2": "site:yard", "u3": "site:depot"}


def test_a_user_in_two_sites_joins_them_under_the_smallest_name() -> None:
    # u2 links yard and depot, u3 links depot and annex: one replica must plan all three.
    pairs = [("yard", "u1"), ("yard", "u2"), ("depot", "u2"), ("depot", "u3"), ("annex", "u3")]
    assert set(site_keys(pairs).values()) == {"site:annex"}
    assert site_keys([("b", "x"), ("a", "y")]) == {"x": "site:b", "y": "site:a"}
