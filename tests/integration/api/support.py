"""Helpers the API tests share: tokens, settings, signed webhook bodies, seeded data."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from enode_scheduler.api.auth import hash_token
from enode_scheduler.config import ApiSettings, ApiToken
from enode_scheduler.exceptions import LinkError
from enode_scheduler.ports import TokenStore
from enode_scheduler.records import UserTokens, VehicleReading

READ_TOKEN = "read-token-0123456789abcdef"
WRITE_TOKEN = "write-token-0123456789abcdef"
WEBHOOK_SECRET = "whsec-0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
BAD = {"Authorization": "Bearer not-a-configured-token"}


def api_settings(**overrides: Any) -> ApiSettings:
    tokens = (
        ApiToken(name="reader", scope="read", sha256=hash_token(READ_TOKEN)),
        ApiToken(name="writer", scope="write", sha256=hash_token(WRITE_TOKEN)),
    )
    return ApiSettings(tokens=tokens, **overrides)


def signature(body: bytes, *, secret: str = WEBHOOK_SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def signed(events: list[dict[str, Any]], *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    body = json.dumps(events).encode()
    return body, signature(body, secret=secret)


def reading(vehicle_id: str = "veh-1", user_id: str = "user-1", **kw: Any) -> VehicleReading:
    values: dict[str, Any] = {
        "vendor": "TESLA",
        "last_seen": datetime(2026, 11, 29, 11, 50, tzinfo=UTC),
        "is_reachable": True,
        "soc_percent": 40.0,
        "is_plugged_in": True,
        "is_charging": False,
        "charge_rate_kw": None,
        "battery_capacity_kwh": 75.0,
        "charge_limit_percent": 90.0,
    }
    values.update(kw)
    return VehicleReading(vehicle_id=vehicle_id, user_id=user_id, **values)


@dataclass
class Triggers:
    """Real callbacks that remember which vehicles they were asked about."""

    replans: list[str] = field(default_factory=list)
    reconciles: list[str] = field(default_factory=list)

    async def replan(self, vehicle_id: str) -> None:
        self.replans.append(vehicle_id)

    async def reconcile(self, vehicle_id: str) -> None:
        self.reconciles.append(vehicle_id)


class MemoryLinkFlow:
    """A working in-memory link flow: one-time states bound to a user, expiring on the clock;
    a completed link saves (fake) tokens through the real token store."""

    def __init__(self, clock: Any, tokens: TokenStore, *, ttl_s: float = 600.0) -> None:
        self.clock = clock
        self.tokens = tokens
        self.ttl_s = ttl_s
        self.states: dict[str, tuple[str, datetime]] = {}
        self.deauthorized: list[str] = []

    async def start_link(self, user_id: str) -> SimpleNamespace:
        state = f"state-{user_id}-{len(self.states)}"
        self.states[state] = (user_id, self.clock.now())
        return SimpleNamespace(authorize_url=f"https://link.example/oauth2/auth?state={state}")

    async def complete_link(self, params: Mapping[str, str], *, user_id: str | None = None) -> str:
        entry = self.states.pop(params.get("state", ""), None)
        if entry is None:
            raise LinkError("unknown or already used state")
        if user_id is not None and user_id != entry[0]:
            raise LinkError("state issued for another user")
        if params.get("error"):
            raise LinkError(f"Enode refused: {params['error']}", error=params["error"])
        if (self.clock.now() - entry[1]).total_seconds() > self.ttl_s:
            raise LinkError("the link expired; start again")
        expires = self.clock.now() + timedelta(hours=1)
        await self.tokens.save_tokens(entry[0], UserTokens("access", "refresh", expires))
        return entry[0]

    async def deauthorize_user(self, user_id: str) -> None:
        self.deauthorized.append(user_id)
