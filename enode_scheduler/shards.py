"""Which shard a user belongs to, and how many shards each replica should hold.

A leaf module (stdlib only): the store, the daemon, the CLI and the benchmarks all agree on the
mapping without importing each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["fair_share", "shard_of", "site_keys"]


def shard_of(key: str, shards: int) -> int:
    """The shard of `key` (a user id) among `shards`, the same in every process and release.

    Python's `hash()` is salted per process, so a fixed digest is used instead.
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def fair_share(total: int, holders: Iterable[str], me: str) -> int:
    """How many of `total` shards `me` should hold among the live `holders`.

    Every replica computes the same split from the same list: sorted by name, the first
    `total % n` get one more. `me` counts even when the list missed it (its own heartbeat may not
    be visible yet), so a replica never wants zero shards because of a stale read.
    """
    live = sorted(set(holders) | {me})
    base, extra = divmod(total, len(live))
    return base + (1 if live.index(me) < extra else 0)


def site_keys(site_users: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The shard key of each user with a charging location in a site: "site:<name>".

    A site's cars are planned together under one cap, so all of them must belong to one replica:
    every user of a site gets the site's key. A user in two sites joins them: the key is the
    smallest site name among all sites linked through shared users. Other users keep their id.
    `site_users` are (site name, user id) pairs.
    """
    parent: dict[str, str] = {}

    def root(site: str) -> str:
        while parent.setdefault(site, site) != site:
            parent[site] = parent[parent[site]]
            site = parent[site]
        return site

    sites_of: dict[str, list[str]] = {}
    for site, user in site_users:
        sites_of.setdefault(user, []).append(site)
        root(site)
    for sites in sites_of.values():
        for other in sites[1:]:
            a, b = root(sites[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the smaller name stays the root
    return {user: f"site:{root(sites[0])}" for user, sites in sites_of.items()}
