"""`POST /webhooks/enode`: the Enode firehose, verified, applied to stored state, answered fast.

Replays are harmless: a delivery id seen lately is skipped, and an event older than the stored
reading never overwrites it. Replan/reconcile run after the response is sent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated

import structlog
from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Request

from enode_scheduler.api.deps import ApiDeps
from enode_scheduler.api.models import WebhookResult
from enode_scheduler.api.problems import responses
from enode_scheduler.api.routes.vehicles import Deps
from enode_scheduler.api.webhook_events import (
    UPDATE_EVENTS,
    Event,
    FieldTimes,
    blank_reading,
    merge,
    parse_delivery,
    parse_patch,
    patch_changes,
    signature_ok,
)
from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.records import VehicleReading
from enode_scheduler.service.reading import sanitise

__all__ = ["RecentDeliveries", "webhook_router"]

log = structlog.get_logger()
MAX_DELIVERY_ID = 256
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


class RecentDeliveries:
    """The last `capacity` delivery ids, to skip Enode's redeliveries cheaply."""

    def __init__(self, capacity: int = 4096) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def add(self, delivery_id: str) -> bool:
        """Remember the id; False when it was already there."""
        if delivery_id in self._ids:
            return False
        self._ids[delivery_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


@dataclass
class _Outcome:
    pending: dict[str, VehicleReading] = field(default_factory=dict)
    replan: set[str] = field(default_factory=set)
    applied: int = 0


def webhook_router(secret: str) -> APIRouter:
    """The firehose route, checking signatures against `secret`."""
    router = APIRouter(tags=["webhooks"])
    recent = RecentDeliveries()
    times = FieldTimes()
    lock = asyncio.Lock()

    @router.post(
        "/webhooks/enode", responses=responses(400, 401, 413, 422), openapi_extra=_BODY_DOC
    )
    async def enode_webhook(
        request: Request,
        deps: Deps,
        background: BackgroundTasks,
        x_enode_signature: Annotated[str | None, Header()] = None,
        x_enode_delivery: Annotated[str | None, Header()] = None,
    ) -> WebhookResult:
        """Receive Enode events: `X-Enode-Signature` must be sha1=HMAC-SHA1(secret, body)."""
        body = await request.body()
        delivery = (x_enode_delivery or "")[:MAX_DELIVERY_ID]
        if not signature_ok(body, x_enode_signature, secret=secret):
            log.warning("webhook_bad_signature", delivery=delivery)
            raise HTTPException(401, "Missing or wrong X-Enode-Signature.")
        try:
            events = parse_delivery(body)
        except InvalidInput as exc:
            raise HTTPException(400, str(exc)) from exc
        if delivery and not recent.add(delivery):
            log.info("webhook_redelivery_skipped", delivery=delivery)
            return WebhookResult(events=len(events), applied=0, ignored=len(events))
        # One delivery at a time: each reads, merges and writes the same vehicles.
        async with lock:
            outcome = await _apply(deps, events, times)
        for vehicle_id in outcome.pending:
            if vehicle_id in outcome.replan:
                background.add_task(deps.request_replan, vehicle_id)
            background.add_task(deps.request_reconcile, vehicle_id)
        log.info("webhook_applied", events=len(events), applied=outcome.applied)
        return WebhookResult(
            events=len(events), applied=outcome.applied, ignored=len(events) - outcome.applied
        )

    return router


async def _apply(deps: ApiDeps, events: list[Event], times: FieldTimes) -> _Outcome:
    outcome = _Outcome()
    known_users: dict[str, bool] = {}
    for event in events:
        if event.event not in UPDATE_EVENTS or event.user is None or event.vehicle is None:
            continue
        user_id = event.user.id
        if user_id not in known_users:
            known_users[user_id] = await deps.users.get_user(user_id) is not None
        if known_users[user_id] and await _apply_one(deps, event, user_id, outcome, times):
            outcome.applied += 1
    if outcome.pending:
        await deps.vehicles.save_readings(list(outcome.pending.values()))
    return outcome


async def _apply_one(
    deps: ApiDeps, event: Event, user_id: str, outcome: _Outcome, times: FieldTimes
) -> bool:
    assert event.vehicle is not None
    try:
        patch = parse_patch(event.vehicle)
    except InvalidInput as exc:
        log.warning("webhook_event_skipped", user_id=user_id, reason=str(exc))
        return False
    current = outcome.pending.get(patch.id)
    if current is None:
        current = (await deps.vehicles.latest_readings([patch.id])).get(patch.id)
    if current is not None and current.user_id != user_id:
        log.warning("webhook_vehicle_owner_mismatch", vehicle_id=patch.id, user_id=user_id)
        return False
    seen = patch.last_seen or event.created_at
    # Deliveries can arrive out of order; per field, the newest value wins.
    changes = times.fresh(current, patch_changes(patch), vehicle_id=patch.id, at=seen)
    merged = merge(current or blank_reading(patch.id, user_id), changes, seen=seen)
    merged = sanitise(merged, now=deps.clock.now())
    times.seen(patch.id, merged.last_seen)
    if merged == current:
        return False
    outcome.pending[patch.id] = merged
    if current is None or merged.is_plugged_in != current.is_plugged_in:
        outcome.replan.add(patch.id)
    return True
