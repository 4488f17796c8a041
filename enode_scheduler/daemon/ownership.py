"""Which shards this process may send commands for: shard leases with fencing epochs on the
database, and a file lock for SQLite."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog

from enode_scheduler.exceptions import AlreadyRunning, ConfigError, LostLeadership, StoreError
from enode_scheduler.ports import ShardStore
from enode_scheduler.records import ReplicaRecord, ShardLease
from enode_scheduler.shards import fair_share, shard_of

log = structlog.get_logger()

# The share of the TTL a replica gives up before the database's expiry: it absorbs the time
# between the send-time check and the request leaving, and clock-rate differences.
LEASE_MARGIN_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    """What one renewal changed: shards newly held (or re-taken with a new epoch), and lost."""

    gained: tuple[int, ...] = ()
    lost: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.gained or self.lost)


class ShardOwnership:
    """Holds this replica's fair share of the shard leases; `epoch_for(shard)` is None while this
    process must not send for that shard.

    `renew()` runs on wall-clock intervals of a third of the TTL: a heartbeat, the live replicas,
    and a claim of `fair_share` shards on database time. A joining replica takes only free or
    expired shards; the others give up their surplus at their own next renewal, so the fleet is
    rebalanced within about one renewal period. The shard with the lowest number, 0, makes its
    holder the coordinator (fleet-wide jobs).

    The store's fence protects what is recorded, not what is posted: a replica paused (SIGSTOP, a
    VM freeze) between recording a command and posting it would still post. So the leases also
    have a local deadline on the monotonic clock, counted from *before* the renewal was asked (the
    database's expiry is at least that late) less a safety margin; past it no shard has an epoch
    and `check_may_send` refuses, whatever the database may say later.

    With SQLite the file lock makes this the only process: it claims every shard (`claim_all`),
    through the same leases and fence as on PostgreSQL.
    """

    def __init__(
        self,
        shards: ShardStore,
        *,
        holder: str,
        ttl_s: float,
        total: int,
        claim_all: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = shards
        self.holder = holder
        self.ttl_s = ttl_s
        self.total = total
        self._claim_all = claim_all
        self._monotonic = monotonic
        self.leases: dict[int, ShardLease] = {}
        self._valid_until = 0.0
        self._expiry_logged = False
        # The shards (-> epoch) last reported gained: a lease that ran out is reported lost.
        self._announced: dict[int, int] = {}
        # The shard a user's commands are fenced by (the reconciler's rule, sites included).
        self.key_of: Callable[[str], int] = lambda user_id: shard_of(user_id, total)
        # Reported with each heartbeat (the `replicas` command and the other replicas read it).
        self.cars = 0
        self.gained_total = 0
        self.lost_total = 0
        # False while the database cannot be asked: a replica that cannot reach it is not healthy.
        self.reachable = True
        self._disagreeing_logged = False

    @property
    def margin_s(self) -> float:
        """How long before the database's expiry this process stops sending."""
        return self.ttl_s * LEASE_MARGIN_FRACTION

    @property
    def valid(self) -> bool:
        return self._monotonic() < self._valid_until

    def epoch_for(self, shard: int) -> int | None:
        lease = self.leases.get(shard)
        if lease is None or not self.valid:
            return None
        return lease.epoch

    @property
    def owned(self) -> frozenset[int]:
        """The shards this process may act on now."""
        return frozenset(self.leases) if self.valid else frozenset()

    def epochs(self) -> dict[int, int]:
        """Shard -> epoch for every shard owned now."""
        return {s: lease.epoch for s, lease in self.leases.items()} if self.valid else {}

    @property
    def coordinator(self) -> bool:
        """Whether this replica runs the fleet-wide jobs (it holds shard 0)."""
        return self.epoch_for(0) is not None

    def owns_user(self, user_id: str) -> bool:
        return self.epoch_for(self.key_of(user_id)) is not None

    def check_may_send(self, shard: int) -> None:
        """Raise LostLeadership unless the shard's lease is surely still ours (before a post)."""
        if self.epoch_for(shard) is not None:
            return
        if self.leases and not self.valid and not self._expiry_logged:
            self._expiry_logged = True
            log.warning(
                "shard_leases_expired", holder=self.holder, shards=len(self.leases),
                overdue_s=round(self._monotonic() - self._valid_until, 3),
            )  # fmt: skip
        raise LostLeadership(
            f"the lease of shard {shard} held by {self.holder} may have expired: command not sent",
            shards=(shard,),
        )

    def guard_user(self, user_id: str | None) -> None:
        """The send-time guard of the Enode client: the shard of the command's user."""
        if user_id is None:
            raise LostLeadership("a command without a user cannot be fenced: not sent")
        self.check_may_send(self.key_of(user_id))

    async def renew(self) -> OwnershipChange:
        """Heartbeat, then claim this replica's fair share; a database failure keeps the leases
        until their local deadline (they are no longer renewed)."""
        asked = self._monotonic()
        try:
            # A renewal that hangs (a pool or connect timeout) must not outlive the lease.
            leases = await asyncio.wait_for(self._claim(), timeout=max(self.ttl_s / 3, 0.5))
        except (StoreError, TimeoutError) as exc:
            if self.reachable:
                log.warning("lease_renew_failed", holder=self.holder, error=_describe(exc))
            self.reachable = False
            if not self.valid:
                self.leases = {}
        else:
            if not self.reachable:
                log.info("lease_renew_recovered", holder=self.holder)
            self.reachable = True
            self.leases = {lease.shard: lease for lease in leases}
            self._valid_until = asked + self.ttl_s - self.margin_s
            self._expiry_logged = False
        return self._changed(reason="renewal")

    async def check_peers(self) -> None:
        """Refuse to start beside a live replica that splits the users into another number of
        shards: both would run the cars whose shard numbers differ (ConfigError, one line)."""
        for peer in await self._store.replicas():
            if peer.holder == self.holder or peer.shards_total in (None, self.total):
                continue
            raise ConfigError(
                [
                    f"scheduler.shards = {self.total}, but the live replica {peer.holder} runs "
                    f"with {peer.shards_total}: every replica must use the same value (stop all "
                    "replicas to change it)"
                ]
            )

    async def _claim(self) -> list[ShardLease]:
        await self._store.heartbeat(
            self.holder, ttl_s=self.ttl_s, shards_owned=len(self.owned), cars=self.cars,
            shards_total=self.total,
        )  # fmt: skip
        if self._claim_all:
            wanted = self.total
        else:
            live = await self._store.replicas()
            self._warn_disagreeing(live)
            wanted = fair_share(self.total, [r.holder for r in live], self.holder)
        return await self._store.claim(
            self.holder, wanted=wanted, total=self.total, ttl_s=self.ttl_s
        )

    def _warn_disagreeing(self, live: Sequence[ReplicaRecord]) -> None:
        """Two replicas started at once with different `scheduler.shards` both pass
        `check_peers`: say so, once per episode, for an operator to stop one."""
        others = sorted(r.holder for r in live if r.shards_total not in (None, self.total))
        if others and not self._disagreeing_logged:
            log.error(
                "shards_setting_differs", holder=self.holder, shards=self.total, replicas=others
            )
        self._disagreeing_logged = bool(others)

    async def clear_stale(self) -> None:
        """Free the shards a dead process left (only safe while holding the SQLite file lock)."""
        try:
            stale = {lease.holder for lease in await self._store.leases()}
            for holder in sorted(h for h in stale if h is not None and h != self.holder):
                await self._store.release(holder)
                log.info("stale_leases_cleared", holder=holder)
        except StoreError as exc:
            log.warning("stale_lease_check_failed", error=str(exc))

    def lost(self, shards: Sequence[int] = ()) -> OwnershipChange:
        """The store refused our epoch for `shards` (empty: all): stop sending for them until a
        renewal gives them back."""
        for shard in shards or list(self.leases):
            self.leases.pop(shard, None)
        return self._changed(reason="fenced")

    async def release(self) -> None:
        """Give every shard back (a clean stop, or the database unusable past the grace)."""
        try:
            await self._store.release(self.holder)
        except StoreError as exc:
            log.warning("lease_release_failed", error=str(exc))
        self.leases = {}
        self._changed(reason="released")

    def _changed(self, *, reason: str) -> OwnershipChange:
        before, after = self._announced, self.epochs()
        self._announced = after
        gained = tuple(sorted(s for s, e in after.items() if before.get(s) != e))
        lost = tuple(sorted(s for s in before if s not in after))
        if gained:
            self.gained_total += len(gained)
            log.info(
                "shards_gained", holder=self.holder, shards=list(gained), count=len(gained),
                owned=len(after),
            )  # fmt: skip
        if lost:
            self.lost_total += len(lost)
            log.warning(
                "shards_lost", holder=self.holder, shards=list(lost), count=len(lost),
                owned=len(after), reason=reason,
            )  # fmt: skip
        return OwnershipChange(gained, lost)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@contextmanager
def sqlite_lock(db_path: Path) -> Iterator[None]:
    """Refuse a second daemon on one SQLite file (a lock file beside it, held while running)."""
    import fcntl  # POSIX only; SQLite deployments are Linux or macOS boxes

    lock_path = db_path.with_name(db_path.name + ".daemon.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunning(
                f"another enode-scheduler daemon is already running on {db_path} "
                f"(it holds {lock_path}); stop it first, or use PostgreSQL for several replicas"
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
