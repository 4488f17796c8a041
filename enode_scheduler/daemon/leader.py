"""One writer: a leader lease with a fencing epoch (PostgreSQL), a file lock (SQLite)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from enode_scheduler.exceptions import AlreadyRunning, LostLeadership, StoreError
from enode_scheduler.ports import LEADER_LEASE, LeaseStore
from enode_scheduler.records import Lease

log = structlog.get_logger()


class Leadership:
    """Holds (or waits for) the leader lease; `epoch` is None while this process must not send.

    The lease lives on database time, so `renew()` is called on wall-clock intervals of a third of
    the TTL. A standby whose `renew()` finds the lease expired takes it with a higher epoch; the old
    holder's sends are refused by the store when they carry the old epoch.

    The store's fence protects what is recorded, not what is posted: a leader paused (SIGSTOP, a
    VM freeze) between recording a command and posting it would still post. So the lease also has
    a local deadline on the monotonic clock, counted from *before* the renewal was asked (the
    database's expiry is at least that late) less a safety margin; past it `epoch` is None and
    `check_may_send` refuses, whatever the database may say later.
    """

    def __init__(
        self,
        leases: LeaseStore,
        *,
        holder: str,
        ttl_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._leases = leases
        self.holder = holder
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self.lease: Lease | None = None
        self._valid_until = 0.0
        self._expiry_logged = False
        self.gained = 0
        # False while the database cannot be asked: a standby that cannot reach it is not healthy.
        self.reachable = True

    @property
    def margin_s(self) -> float:
        """How long before the database's expiry this process stops sending."""
        return self.ttl_s * LEASE_MARGIN_FRACTION

    @property
    def epoch(self) -> int | None:
        if self.lease is None or self._monotonic() >= self._valid_until:
            return None
        return self.lease.epoch

    def check_may_send(self) -> None:
        """Raise LostLeadership unless the lease is surely still ours (just before a post)."""
        if self.epoch is not None:
            return
        if self.lease is not None and not self._expiry_logged:
            self._expiry_logged = True
            log.warning(
                "leadership_expired", holder=self.holder, epoch=self.lease.epoch,
                overdue_s=round(self._monotonic() - self._valid_until, 3),
            )  # fmt: skip
        raise LostLeadership(f"the lease of {self.holder} may have expired: command not sent")

    async def renew(self) -> bool:
        """Take or renew the lease; True while leading. A database failure means not leading."""
        asked = self._monotonic()
        try:
            # A renewal that hangs (a pool or connect timeout) must not outlive the lease.
            lease = await asyncio.wait_for(
                self._leases.acquire(LEADER_LEASE, holder=self.holder, ttl_s=self.ttl_s),
                timeout=max(self.ttl_s / 3, 0.5),
            )
        except (StoreError, TimeoutError) as exc:
            lease = None
            if self.reachable:
                log.warning("lease_renew_failed", holder=self.holder, error=_describe(exc))
            self.reachable = False
        else:
            if not self.reachable:
                log.info("lease_renew_recovered", holder=self.holder)
            self.reachable = True
        was = self.lease.epoch if self.lease is not None else None
        if lease is not None and was != lease.epoch:
            self.gained += 1
            log.info("leadership_gained", holder=self.holder, epoch=lease.epoch)
        elif lease is None and was is not None:
            log.warning("leadership_lost", holder=self.holder, epoch=was)
        self.lease = lease
        if lease is not None:
            self._valid_until = asked + self.ttl_s - self.margin_s
            self._expiry_logged = False
        return lease is not None

    async def clear_stale(self) -> None:
        """Expire a lease left by a dead process (only safe while holding the SQLite file lock)."""
        try:
            stale = await self._leases.current(LEADER_LEASE)
            if stale is not None and stale.holder != self.holder:
                await self._leases.release(stale)
                log.info("stale_lease_cleared", holder=stale.holder, epoch=stale.epoch)
        except StoreError as exc:
            log.warning("stale_lease_check_failed", error=str(exc))

    def lost(self) -> None:
        """The store refused our epoch: stop sending until `renew()` says otherwise."""
        if self.lease is not None:
            log.warning("leadership_fenced", holder=self.holder, epoch=self.lease.epoch)
        self.lease = None

    async def release(self) -> None:
        if self.lease is None:
            return
        try:
            await self._leases.release(self.lease)
        except StoreError as exc:
            log.warning("lease_release_failed", error=str(exc))
        self.lease = None


# The share of the TTL a leader gives up before the database's expiry: it absorbs the time
# between the send-time check and the request leaving, and clock-rate differences.
LEASE_MARGIN_FRACTION = 0.2


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
