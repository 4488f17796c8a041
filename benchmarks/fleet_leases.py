"""Who owns which shard, seen from outside: the fleet run polls the lease rows every 100 ms.

The database is polled rather than the daemons' `shards_gained` logs because it times an owner
change on the clock the fencing uses: a shard has a live owner while its row's expiry is after the
database's `now()`, the test a claim makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from enode_scheduler.clock import Clock

POLL_S = 0.1
SHARDS_SQL = "SELECT shard, holder, expires_at > now() AS live FROM shard_leases"


@dataclass(frozen=True, slots=True)
class Poll:
    """When the database was asked: wall (time.monotonic) and sim time."""

    wall_s: float
    at: datetime


@dataclass(frozen=True, slots=True)
class OwnerChange:
    """A shard's live owner differed between two polls (None: no live lease)."""

    shard: int
    old: str | None
    new: str | None
    before: Poll  # the last poll that saw `old`
    seen: Poll  # the first poll that saw `new`


@dataclass
class LeaseHistory:
    """Every owner change seen, in order, and the owners at the latest poll."""

    shards: int = 1
    changes: list[OwnerChange] = field(default_factory=list)
    owners: dict[int, str | None] = field(default_factory=dict)
    polls: int = 0
    failed_polls: int = 0

    def see(self, owners: dict[int, str | None], *, previous: Poll, poll: Poll) -> None:
        """One poll's live owners, compared with the last poll's (`previous`)."""
        self.polls += 1
        for shard, owner in owners.items():
            old = self.owners.get(shard)
            if owner != old:
                self.changes.append(OwnerChange(shard, old, owner, previous, poll))
                self.owners[shard] = owner

    def owned_by(self, holder: str) -> set[int]:
        return {s for s, owner in self.owners.items() if owner == holder}

    def owners_at(self, wall_s: float) -> dict[int, str | None]:
        """The live owners the last poll at or before `wall_s` saw."""
        owners: dict[int, str | None] = {}
        for change in self.changes:
            if change.seen.wall_s > wall_s:
                break
            owners[change.shard] = change.new
        return owners

    def moves(self, *, since_wall_s: float, until_wall_s: float) -> int:
        """Shards that passed from one holder to another in the span, an expiry between them
        or not. A first claim, or an owner reclaiming its own shard, is no move."""
        last: dict[int, str] = {}
        moved = 0
        for change in self.changes:
            if change.new is None:
                continue
            previous = last.get(change.shard)
            last[change.shard] = change.new
            in_span = since_wall_s <= change.seen.wall_s <= until_wall_s
            moved += in_span and previous is not None and previous != change.new
        return moved

    def taken_over(self, shards: Iterable[int], *, holder: str, since_wall_s: float) -> Poll | None:
        """The first poll after `since_wall_s` by which each of `shards` had had a live owner
        other than `holder`; None if one never did (nor if `shards` is empty)."""
        wanted = set(shards)
        taken: dict[int, Poll] = {}
        for change in self.changes:
            if (
                change.shard in wanted
                and change.shard not in taken
                and change.seen.wall_s >= since_wall_s
                and change.new not in (None, holder)
            ):
                taken[change.shard] = change.seen
        if not wanted or taken.keys() != wanted:
            return None
        return max(taken.values(), key=lambda poll: poll.wall_s)

    def lost(
        self, shards: Iterable[int], *, holder: str, since_wall_s: float
    ) -> dict[int, tuple[datetime, datetime | None]]:
        """When each of `shards` was surely another's after `since_wall_s`: from the first poll
        that saw another live owner to the last poll before `holder` was seen owning it again
        (None: never again). Sim times, each end taken on the safe side of its poll."""
        wanted = set(shards)
        spans: dict[int, tuple[datetime, datetime | None]] = {}
        for change in self.changes:
            if change.shard not in wanted or change.seen.wall_s < since_wall_s:
                continue
            span = spans.get(change.shard)
            if span is None and change.new not in (None, holder):
                spans[change.shard] = (change.seen.at, None)
            elif span is not None and span[1] is None and change.new == holder:
                spans[change.shard] = (span[0], change.before.at)
        return spans


class LeaseWatcher:
    """Polls the lease rows until cancelled, recording into `history`."""

    def __init__(self, database_url: str, clock: Clock, *, shards: int) -> None:
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._clock = clock
        self.history = LeaseHistory(shards=shards)

    async def run(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            previous = Poll(time.monotonic(), self._clock.now())
            while True:
                poll = Poll(time.monotonic(), self._clock.now())
                try:
                    rows = await conn.fetch(SHARDS_SQL)
                except (asyncpg.PostgresError, OSError):
                    self.history.failed_polls += 1
                else:
                    owners = {int(r["shard"]): r["holder"] if r["live"] else None for r in rows}
                    self.history.see(owners, previous=previous, poll=poll)
                    previous = poll
                await asyncio.sleep(POLL_S)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
