"""Wake-ups between replicas over PostgreSQL LISTEN/NOTIFY (and nothing at all on SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.store.engine import create_engine
from enode_scheduler.store.wakes import SqlWakes, Wake, WakeListener
from tests.e2e.dbproxy import DbProxy

# Guards against a hang only; nothing here is timed.
WAIT_S = 20.0


class Inbox:
    """A listener's callback that keeps what arrived."""

    def __init__(self) -> None:
        self.wakes: list[Wake] = []
        self._arrived = asyncio.Event()

    async def __call__(self, wake: Wake) -> None:
        self.wakes.append(wake)
        self._arrived.set()

    @property
    def ids(self) -> list[str]:
        return [vid for wake in self.wakes for vid in wake.vehicle_ids]

    async def until(self, done: Callable[[list[Wake]], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not done(self.wakes):
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def engines(pg_store_url: str, tmp_path: Path) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on one database, as two replicas have."""
    settings = DatabaseSettings(url=pg_store_url)
    made = [create_engine(settings, state_dir=tmp_path) for _ in range(2)]
    yield made
    for engine in made:
        await engine.dispose()


async def _listening(stack: AsyncExitStack, listener: WakeListener) -> WakeListener:
    await stack.enter_async_context(listener.running())
    async with asyncio.timeout(WAIT_S):
        await listener.wait_connected()
    return listener


async def test_both_replicas_hear_what_one_publishes(engines: list[AsyncEngine]) -> None:
    first, second = SqlWakes(engines[0]), SqlWakes(engines[1])
    inboxes = [Inbox(), Inbox()]
    async with AsyncExitStack() as stack:
        await _listening(stack, first.listener(inboxes[0]))
        await _listening(stack, second.listener(inboxes[1]))
        await first.publish(["veh-1", "veh-2"], replan=True)
        await first.publish(["veh-3"], replan=False)
        for inbox in inboxes:
            await inbox.until(lambda wakes: len(wakes) == 2)
            assert inbox.wakes == [
                Wake(("veh-1", "veh-2"), replan=True),
                Wake(("veh-3",), replan=False),
            ]


async def test_a_large_batch_arrives_whole_in_several_payloads(
    engines: list[AsyncEngine],
) -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(1000)]
    inbox = Inbox()
    async with AsyncExitStack() as stack:
        await _listening(stack, SqlWakes(engines[1]).listener(inbox))
        await SqlWakes(engines[0]).publish(ids, replan=False)
        await inbox.until(lambda _: len(inbox.ids) >= len(ids))
    assert len(inbox.wakes) > 1
    assert inbox.ids == ids


async def test_the_listener_reconnects_after_its_connection_is_killed(
    engines: list[AsyncEngine],
) -> None:
    inbox = Inbox()
    listener = WakeListener(engines[1], inbox, reconnect_base_s=0.05)
    with capture_logs() as events:
        async with AsyncExitStack() as stack:
            await _listening(stack, listener)
            killed = listener.backend_pid
            async with engines[0].connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
            async with asyncio.timeout(WAIT_S):
                # The listener has no event for "connected again on another backend".
                while listener.backend_pid in (None, killed):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            await SqlWakes(engines[0]).publish(["veh-after"], replan=False)
            await inbox.until(lambda wakes: bool(wakes))
    assert inbox.ids == ["veh-after"]
    names = [e["event"] for e in events if e["event"].startswith("wake_listener")]
    # One line for the episode and one for its end, however many attempts it took.
    assert names == ["wake_listener_down", "wake_listener_recovered"]


async def test_an_outage_of_many_failed_connects_is_one_line_and_its_end_another(
    pg_store_url: str, engines: list[AsyncEngine], tmp_path: Path
) -> None:
    proxy = DbProxy(pg_store_url)
    await proxy.accept()
    proxied = create_engine(DatabaseSettings(url=proxy.url), state_dir=tmp_path)
    inbox = Inbox()
    listener = WakeListener(proxied, inbox, reconnect_base_s=0.01, reconnect_cap_s=0.05)
    try:
        with capture_logs() as events:
            async with AsyncExitStack() as stack:
                await _listening(stack, listener)
                await proxy.refuse()  # the connection is cut and new ones are refused
                async with asyncio.timeout(WAIT_S):
                    # Several refused connects in a row (the listener has no event for them).
                    while listener._failures < 5:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                await proxy.accept()
                async with asyncio.timeout(WAIT_S):
                    await listener.wait_connected()
                await SqlWakes(engines[0]).publish(["veh-back"], replan=False)
                await inbox.until(lambda wakes: bool(wakes))
    finally:
        await proxy.refuse()
        await proxied.dispose()
    assert inbox.ids == ["veh-back"]
    lines = [e for e in events if e["event"].startswith("wake_listener")]
    assert [e["event"] for e in lines] == ["wake_listener_down", "wake_listener_recovered"]
    assert lines[1]["failures"] >= 5


async def test_a_failing_callback_does_not_stop_later_wake_ups(
    engines: list[AsyncEngine],
) -> None:
    inbox = Inbox()

    async def callback(wake: Wake) -> None:
        if wake.vehicle_ids == ("bad",):
            raise RuntimeError("boom")
        await inbox(wake)

    with capture_logs() as events:
        async with AsyncExitStack() as stack:
            await _listening(stack, SqlWakes(engines[1]).listener(callback))
            await SqlWakes(engines[0]).publish(["bad"], replan=False)
            await SqlWakes(engines[0]).publish(["good"], replan=False)
            await inbox.until(lambda wakes: bool(wakes))
    assert inbox.ids == ["good"]
    assert "wake_callback_failed" in [e["event"] for e in events]


async def test_sqlite_publishes_and_listens_to_nothing(tmp_path: Path) -> None:
    engine = create_engine(
        DatabaseSettings(url=f"sqlite:///{tmp_path / 'x.db'}"), state_dir=tmp_path
    )
    try:
        wakes = SqlWakes(engine)
        assert not wakes.enabled
        listener = wakes.listener(Inbox())
        async with listener.running():
            await wakes.publish(["veh-1"], replan=True)  # no error, no SQL
            assert not listener.connected
    finally:
        await engine.dispose()
