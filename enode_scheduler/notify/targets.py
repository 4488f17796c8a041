"""Where messages go: any Apprise URL, or a JSON webhook signed with HMAC-SHA256.

A webhook's receiver checks `X-Enode-Scheduler-Signature` (`sha256=<hex>` of HMAC(secret,
`<timestamp>.<body>`)) and refuses a `X-Enode-Scheduler-Timestamp` too far from its own clock,
so a captured delivery cannot be replayed later. `verify_signature` does both.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import apprise
import httpx

from enode_scheduler.config import NotifyTarget
from enode_scheduler.records import NotifyEvent

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AppriseTarget",
    "DeliveryFailed",
    "Message",
    "Target",
    "WebhookTarget",
    "build_targets",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Enode-Scheduler-Signature"
TIMESTAMP_HEADER = "X-Enode-Scheduler-Timestamp"
EVENT_HEADER = "X-Enode-Scheduler-Event"
REPLAY_WINDOW_S = 300.0


class DeliveryFailed(Exception):
    """The target did not take the message; it is retried later."""


@dataclass(frozen=True, slots=True)
class Message:
    """What one delivery carries: a single event, or a summary of several."""

    title: str
    body: str
    events: tuple[NotifyEvent, ...]

    @property
    def summary(self) -> bool:
        return len(self.events) != 1


class Target(Protocol):
    name: str

    async def send(self, message: Message, *, now: datetime) -> None:
        """Deliver once; raise DeliveryFailed when the target refused or could not be reached."""
        ...


def event_json(event: NotifyEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "kind": event.kind.value,
        "at": event.at.isoformat(),
        "title": event.title,
        "message": event.message,
        "vehicle_id": event.vehicle_id,
        "user_id": event.user_id,
    }


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    now_unix: float,
    window_s: float = REPLAY_WINDOW_S,
) -> bool:
    """A receiver's check: the signature matches and the timestamp is recent."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now_unix - int(timestamp)) > window_s:
        return False
    return hmac.compare_digest(sign(secret, body, int(timestamp)), signature)


class WebhookTarget:
    """POSTs JSON: one event as an object, a summary as {"kind": "summary", "events": [...]}."""

    def __init__(
        self, name: str, url: str, secret: str, *, http: httpx.AsyncClient, timeout_s: float
    ) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._http = http
        self._timeout_s = timeout_s

    async def send(self, message: Message, *, now: datetime) -> None:
        if message.summary:
            payload: dict[str, Any] = {
                "kind": "summary",
                "title": message.title,
                "message": message.body,
                "events": [event_json(e) for e in message.events],
            }
            kind = "summary"
        else:
            payload = event_json(message.events[0])
            kind = message.events[0].kind.value
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: kind,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, body, timestamp),
        }
        try:
            response = await self._http.post(
                self._url, content=body, headers=headers, timeout=self._timeout_s
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryFailed(f"HTTP {response.status_code}")


class AppriseTarget:
    """Any service Apprise knows, by URL. Apprise sends synchronously: it runs in a thread, so
    a slow mail server holds up this target only."""

    def __init__(self, name: str, url: str, *, timeout_s: float) -> None:
        self.name = name
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            # The URL holds credentials: never repeat it.
            raise ValueError(f"notify {name}: url is not an Apprise URL Apprise understands")
        self._timeout_s = timeout_s

    async def send(self, message: Message, *, now: datetime) -> None:
        try:
            ok = await asyncio.wait_for(
                asyncio.to_thread(self._apprise.notify, body=message.body, title=message.title),
                timeout=self._timeout_s,
            )
        except TimeoutError as exc:
            raise DeliveryFailed("timed out") from exc
        if not ok:
            raise DeliveryFailed("Apprise could not deliver (see its log)")


def build_targets(
    settings: Sequence[NotifyTarget], *, http: httpx.AsyncClient
) -> dict[str, Target]:
    """One target per `[[notify]]` entry. ValueError (one line) for a URL Apprise refuses."""
    targets: dict[str, Target] = {}
    for entry in settings:
        if entry.name in targets:
            raise ValueError(f"notify: two entries are named {entry.name!r}")
        if entry.webhook_url is not None:
            assert entry.webhook_secret is not None  # the settings model checks
            targets[entry.name] = WebhookTarget(
                entry.name,
                str(entry.webhook_url),
                entry.webhook_secret.get_secret_value(),
                http=http,
                timeout_s=entry.timeout_s,
            )
        else:
            assert entry.url is not None
            targets[entry.name] = AppriseTarget(
                entry.name, entry.url.get_secret_value(), timeout_s=entry.timeout_s
            )
    return targets


def summarize(events: Sequence[NotifyEvent]) -> Message:
    """One message for a burst: counts per kind, then the first lines."""
    if len(events) == 1:
        e = events[0]
        return Message(e.title, e.message, (e,))
    counts: dict[str, int] = {}
    for e in events:
        counts[e.kind.value] = counts.get(e.kind.value, 0) + 1
    head = ", ".join(f"{n} × {kind}" for kind, n in sorted(counts.items()))
    lines = [f"- {e.message}" for e in events[:20]]
    if len(events) > 20:
        lines.append(f"- ... and {len(events) - 20} more")
    return Message(f"{len(events)} events: {head}", "\n".join(lines), tuple(events))
