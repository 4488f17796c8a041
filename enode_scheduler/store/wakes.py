"""Wake-ups between replicas over PostgreSQL's LISTEN/NOTIFY.

A webhook or a plan change may reach any replica; the car is run by one of them. `publish` sends
the car ids on the `enode_scheduler_wake` channel and every replica's `WakeListener` hands them
to its callback (the replica that does not run a car ignores it). Notifications are not stored:
one sent while a listener reconnects is lost, and the plan refresh job and the cars' polls pick
the change up later. SQLite is one process, so both ends do nothing there.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from enode_scheduler.exceptions import StoreError
from enode_scheduler.store.base import DATABASE_ERRORS

if TYPE_CHECKING:
    import asyncpg

__all__ = ["CHANNEL", "MAX_PAYLOAD_BYTES", "SqlWakes", "Wake", "WakeListener", "decode", "encode"]

log = structlog.get_logger()

CHANNEL = "enode_scheduler_wake"
# PostgreSQL refuses a payload of 8000 bytes or more (the default block size); keep a margin.
MAX_PAYLOAD_BYTES = 7900

# Reconnect backoff (wall seconds), doubling from the base up to the cap.
RECONNECT_BASE_S = 0.5
RECONNECT_CAP_S = 30.0
# A connection that died without a FIN (a partition, a failover) shows only when used.
CHECK_INTERVAL_S = 10.0
CHECK_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Wake:
    """One notification: these cars changed; `replan` when their plans need picking up."""

    vehicle_ids: tuple[str, ...]
    replan: bool


WakeCallback = Callable[[Wake], Awaitable[None]]


def encode(vehicle_ids: Iterable[str], *, replan: bool) -> list[str]:
    """JSON payloads {"vehicle_ids": [...], "replan": bool}, each under MAX_PAYLOAD_BYTES.

    An id too long to fit any payload is left out (logged): ids are Enode's UUIDs in practice.
    """
    ids = list(dict.fromkeys(vehicle_ids))  # once each, order kept
    empty = _dumps([], replan=replan)
    payloads: list[str] = []
    batch: list[str] = []
    size = len(empty)
    for vid in ids:
        cost = len(json.dumps(vid).encode()) + (1 if batch else 0)
        if len(empty) + cost > MAX_PAYLOAD_BYTES:
            log.warning("wake_id_too_long", vehicle_id=vid[:64], chars=len(vid))
            continue
        if size + cost > MAX_PAYLOAD_BYTES:
            payloads.append(_dumps(batch, replan=replan))
            batch, size = [], len(empty)
            cost -= 1  # no comma before the first id
        batch.append(vid)
        size += cost
    if batch:
        payloads.append(_dumps(batch, replan=replan))
    return payloads


def decode(payload: str) -> Wake | None:
    """The wake-up in a payload; None (logged) when it is not one of ours."""
    try:
        data = json.loads(payload)
        ids, replan = data["vehicle_ids"], data["replan"]
    except (ValueError, TypeError, KeyError):
        ids, replan = None, None
    if not (isinstance(ids, list) and all(isinstance(v, str) for v in ids)) or not isinstance(
        replan, bool
    ):
        log.warning("wake_payload_invalid", payload=payload[:200])
        return None
    return Wake(vehicle_ids=tuple(ids), replan=replan)


def _dumps(ids: list[str], *, replan: bool) -> str:
    # ensure_ascii (the default) keeps one byte per character, so lengths are byte counts.
    return json.dumps({"vehicle_ids": ids, "replan": replan}, separators=(",", ":"))


class SqlWakes:
    """Both ends of the wake-up channel over one engine; `enabled` only on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def enabled(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def publish(self, vehicle_ids: Iterable[str], *, replan: bool) -> None:
        """Tell every replica (this one too) that these cars changed. StoreError on failure."""
        if not self.enabled:
            return
        payloads = encode(vehicle_ids, replan=replan)
        if not payloads:
            return
        notify = text("SELECT pg_notify(:channel, :payload)")
        try:
            # One transaction: the notifications leave together at commit.
            async with self._engine.begin() as conn:
                for payload in payloads:
                    await conn.execute(notify, {"channel": CHANNEL, "payload": payload})
        except DATABASE_ERRORS as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    def listener(self, callback: WakeCallback) -> WakeListener:
        """A listener on the engine's database; run it with `async with listener.running()`."""
        return WakeListener(self._engine, callback)


class WakeListener:
    """LISTEN on a connection of its own (not the pool's: a pooled connection is returned and
    reused, and its LISTEN with it), reconnecting with backoff when it drops.

    Callbacks run one at a time in arrival order; one that fails is logged and the next runs.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        callback: WakeCallback,
        *,
        reconnect_base_s: float = RECONNECT_BASE_S,
        reconnect_cap_s: float = RECONNECT_CAP_S,
        check_interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        self._engine = engine
        self._callback = callback
        self._base_s = reconnect_base_s
        self._cap_s = reconnect_cap_s
        self._check_s = check_interval_s
        self._queue: asyncio.Queue[Wake] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._backend_pid: int | None = None
        # Failures in a row (connects and dropped connections) since LISTEN last worked.
        self._failures = 0
        self._down_since = 0.0

    @property
    def connected(self) -> bool:
        """True while LISTEN is in place (a notification sent now will arrive)."""
        return self._connected.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The listening connection's server process id (None while disconnected)."""
        return self._backend_pid

    async def wait_connected(self) -> None:
        await self._connected.wait()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WakeListener]:
        """Listen (and deliver) until the block ends; nothing at all on SQLite."""
        if self._engine.dialect.name != "postgresql":
            yield self
            return
        tasks = [
            asyncio.create_task(self._listen(), name="wake-listener"),
            asyncio.create_task(self._dispatch(), name="wake-dispatch"),
        ]
        try:
            yield self
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await self._connect()
            except Exception as exc:  # whatever the driver raises, the listener must go on
                self._down(exc)
                await asyncio.sleep(self._backoff_s())
                continue
            try:
                await self._hold(conn)
            except Exception as exc:
                self._down(exc)
            finally:
                self._connected.clear()
                self._backend_pid = None
                conn.terminate()
            await asyncio.sleep(self._backoff_s())

    def _down(self, exc: BaseException) -> None:
        """Count a failure; the first of an episode is logged (and its end, in `_listening`)."""
        if self._failures == 0:
            self._down_since = time.monotonic()
            log.warning("wake_listener_down", error=f"{type(exc).__name__}: {exc}")
        self._failures += 1

    def _listening(self, conn: asyncpg.Connection) -> None:
        self._backend_pid = conn.get_server_pid()
        self._connected.set()
        if self._failures:
            log.info(
                "wake_listener_recovered", failures=self._failures,
                outage_s=round(time.monotonic() - self._down_since, 1),
            )  # fmt: skip
            self._failures = 0

    def _backoff_s(self) -> float:
        return float(min(self._cap_s, self._base_s * 2 ** max(0, self._failures - 1)))

    async def _connect(self) -> asyncpg.Connection:
        import asyncpg

        # The connect arguments SQLAlchemy would use (host, port, ssl, ...), less its own.
        _, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        accepted = inspect.signature(asyncpg.connect).parameters
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        kwargs.setdefault("timeout", CONNECT_TIMEOUT_S)
        return await asyncpg.connect(**kwargs)

    async def _hold(self, conn: asyncpg.Connection) -> None:
        """LISTEN and stay until the connection ends (or stops answering)."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANNEL, self._received)
        self._listening(conn)
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=self._check_s)
                break
            await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_S)
        raise ConnectionError("the listening connection was closed")

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        wake = decode(payload)
        if wake is not None and wake.vehicle_ids:
            self._queue.put_nowait(wake)

    async def _dispatch(self) -> None:
        while True:
            wake = await self._queue.get()
            try:
                await self._callback(wake)
            except Exception as exc:  # a failing callback must not stop later wake-ups
                log.warning(
                    "wake_callback_failed", vehicles=len(wake.vehicle_ids),
                    error=f"{type(exc).__name__}: {exc}",
                )  # fmt: skip
