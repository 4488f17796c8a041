"""Firehose webhook deliveries: signed POSTs of vehicle changes to the configured URL.

Enode sends only the fields that changed since the last delivery; so does the sim, per vehicle.
A delivery that fails is recorded, never retried (the receiver's tests look at `deliveries`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from enode_scheduler.clock import Clock

VehicleBody = Callable[[], dict[str, Any]]


def signature(secret: str, body: bytes) -> str:
    """The X-Enode-Signature value: sha1= and the hex HMAC-SHA1 of the raw body."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@dataclass
class Delivery:
    delivery_id: str
    sim_time: datetime
    events: list[dict[str, Any]]
    status: int | None
    error: str | None


def changed(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """`after` cut to what differs from `before`, one level into nested objects; id always."""
    if before is None:
        return after
    diff: dict[str, Any] = {"id": after["id"]}
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            inner = {k: v for k, v in value.items() if old.get(k) != v}
            if inner:
                diff[key] = inner
        elif old != value:
            diff[key] = value
    return diff


@dataclass
class Firehose:
    """The one webhook Enode v1.4 has; inactive until PUT /webhooks/firehose sets it."""

    clock: Clock
    url: str | None = None
    secret: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def vehicle_event(self, event: str, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        vehicle = changed(self.sent.get(body["id"]), body)
        self.sent[body["id"]] = body
        return {
            "event": event,
            "createdAt": _stamp(self.clock.now()),
            "user": {"id": user_id},
            "vehicle": vehicle,
        }

    def send_later(self, delay_s: float, make_events: Callable[[], list[dict[str, Any]]]) -> None:
        """Deliver what `make_events` builds once `delay_s` of sim time has passed."""
        if self.url is None:
            return

        async def run() -> None:
            await self.clock.sleep(delay_s)
            await self.deliver(make_events())

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, events: list[dict[str, Any]]) -> Delivery | None:
        if self.url is None or not events:
            return None
        body = json.dumps(events).encode()
        delivery_id = str(uuid.uuid4())
        headers = {"Content-Type": "application/json", "X-Enode-Delivery": delivery_id}
        if self.secret:
            headers["X-Enode-Signature"] = signature(self.secret, body)
        status, error = None, None
        try:
            async with httpx.AsyncClient(timeout=5.0) as http:
                status = (await http.post(self.url, content=body, headers=headers)).status_code
        except httpx.HTTPError as exc:  # the sim is its own program; a dead receiver is data
            error = f"{type(exc).__name__}: {exc}"
        record = Delivery(delivery_id, self.clock.now(), events, status, error)
        self.deliveries.append(record)
        return record

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
