"""One writer: a leader lease with a fencing epoch (PostgreSQL), a file lock (SQLite)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from enode_scheduler.exceptions import AlreadyRunning, StoreError
from enode_scheduler.ports import LEADER_LEASE, LeaseStore
from enode_scheduler.records import Lease

log = structlog.get_logger()


class Leadership:
    """Holds (or waits for) the leader lease; `epoch` is None while this process must not send.

    The lease lives on database time, so `renew()` is called on wall-clock intervals of a third of
    the TTL. A standby whose `renew()` finds the lease expired takes it with a higher epoch; the old
    holder's sends are refused by the store when they carry the old epoch.
    """

    def __init__(self, leases: LeaseStore, *, holder: str, ttl_s: float) -> None:
        self._leases = leases
        self.holder = holder
        self.ttl_s = ttl_s
        self.lease: Lease | None = None
        self.gained = 0
        # False while the database cannot be asked: a standby that cannot reach it is not healthy.
        self.reachable = True

    @property
    def epoch(self) -> int | None:
        return self.lease.epoch if self.lease is not None else None

    async def renew(self) -> bool:
        """Take or renew the lease; True while leading. A database failure means not leading."""
        try:
            lease = await self._leases.acquire(LEADER_LEASE, holder=self.holder, ttl_s=self.ttl_s)
        except StoreError as exc:
            lease = None
            if self.reachable:
                log.warning("lease_renew_failed", holder=self.holder, error=str(exc))
            self.reachable = False
        else:
            if not self.reachable:
                log.info("lease_renew_recovered", holder=self.holder)
            self.reachable = True
        was = self.epoch
        self.lease = lease
        if lease is not None and was != lease.epoch:
            self.gained += 1
            log.info("leadership_gained", holder=self.holder, epoch=lease.epoch)
        elif lease is None and was is not None:
            log.warning("leadership_lost", holder=self.holder, epoch=was)
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
