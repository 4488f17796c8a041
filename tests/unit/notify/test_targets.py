"""Targets over real loopback HTTP: the signed webhook, and Apprise's JSON service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from enode_scheduler.config import NotifyTarget
from enode_scheduler.notify.targets import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryFailed,
    build_targets,
    sign,
    summarize,
    verify_signature,
)
from enode_scheduler.records import EventKind, NotifyEvent
from tests.receiver import Receiver

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SECRET = "whsec-notify-0123456789"
EVENT = NotifyEvent("goal_missed:v1:x", EventKind.GOAL_MISSED, NOW, "v1 missed", "v1 at 50 %", "v1")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _settings(receiver: Receiver) -> list[NotifyTarget]:
    return [
        NotifyTarget(name="hook", webhook_url=f"{receiver.url}/hook", webhook_secret=SECRET),  # type: ignore[arg-type]
        NotifyTarget(name="apprise", url=f"json://127.0.0.1:{receiver.port}/apprise"),  # type: ignore[arg-type]
    ]


async def test_webhook_body_is_signed_with_a_timestamp(receiver: Receiver) -> None:
    async with httpx.AsyncClient() as http:
        targets = build_targets(_settings(receiver), http=http)
        await targets["hook"].send(summarize([EVENT]), now=NOW)
    [got] = receiver.accepted()
    assert got.path == "/hook"
    assert got.json()["event_id"] == "goal_missed:v1:x"
    ts = got.headers[TIMESTAMP_HEADER.lower()]
    sig = got.headers[SIGNATURE_HEADER.lower()]
    assert ts == str(int(NOW.timestamp()))
    assert verify_signature(SECRET, got.body, timestamp=ts, signature=sig, now_unix=NOW.timestamp())
    # Another body, another secret, or an old timestamp (a replay) is refused.
    assert not verify_signature(SECRET, got.body + b" ", timestamp=ts, signature=sig,
                                now_unix=NOW.timestamp())  # fmt: skip
    assert not verify_signature("other", got.body, timestamp=ts, signature=sig,
                                now_unix=NOW.timestamp())  # fmt: skip
    assert not verify_signature(SECRET, got.body, timestamp=ts, signature=sig,
                                now_unix=NOW.timestamp() + 301)  # fmt: skip
    assert sign(SECRET, got.body, int(ts)) == sig


async def test_webhook_summary_carries_every_event(receiver: Receiver) -> None:
    second = NotifyEvent("command_failed:v2:y", EventKind.COMMAND_FAILED, NOW, "t", "m", "v2")
    async with httpx.AsyncClient() as http:
        await build_targets(_settings(receiver), http=http)["hook"].send(
            summarize([EVENT, second]), now=NOW
        )
    body = receiver.accepted()[0].json()
    assert body["kind"] == "summary"
    assert [e["event_id"] for e in body["events"]] == ["goal_missed:v1:x", "command_failed:v2:y"]


async def test_a_refusing_receiver_is_a_failed_delivery(receiver: Receiver) -> None:
    receiver.status = 503
    async with httpx.AsyncClient() as http:
        targets = build_targets(_settings(receiver), http=http)
        with pytest.raises(DeliveryFailed, match="503"):
            await targets["hook"].send(summarize([EVENT]), now=NOW)
        with pytest.raises(DeliveryFailed):
            await targets["apprise"].send(summarize([EVENT]), now=NOW)


async def test_apprise_delivers_by_url(receiver: Receiver) -> None:
    async with httpx.AsyncClient() as http:
        await build_targets(_settings(receiver), http=http)["apprise"].send(
            summarize([EVENT]), now=NOW
        )
    [got] = receiver.accepted()
    assert got.path == "/apprise"
    body = json.loads(got.body)
    assert body["title"] == "v1 missed"
    assert body["message"] == "v1 at 50 %"


def test_an_unknown_apprise_url_is_refused_without_repeating_it() -> None:
    bad = NotifyTarget(name="x", url="nosuchservice://user:secret@host")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="notify x") as info:
        build_targets([bad], http=httpx.AsyncClient())
    assert "secret" not in str(info.value)
