"""OAuth tokens: the cached client token, and per-user tokens refreshed one at a time per user."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode import wire
from enode_scheduler.enode.errors import api_error, transport_error
from enode_scheduler.enode.metrics import EnodeMetrics
from enode_scheduler.exceptions import ConfigError, EnodeApiError, NeedsRelink
from enode_scheduler.ports import TokenStore
from enode_scheduler.records import UserTokens

log = structlog.get_logger()

# Tokens are renewed this long before they expire, so a request never carries one that dies
# in flight.
EXPIRY_MARGIN_S = 30.0


class TokenEndpoint:
    """The OAuth token URL: client-credentials, authorization-code and refresh-token grants."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: EnodeSettings,
        *,
        clock: Clock,
        metrics: EnodeMetrics,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._metrics = metrics

    async def client_credentials(self) -> UserTokens:
        return await self._grant({"grant_type": "client_credentials"}, operation="token_client")

    async def exchange_code(self, code: str) -> UserTokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": str(self._settings.redirect_uri),
        }
        return await self._grant(form, operation="token_code")

    async def refresh(self, refresh_token: str) -> UserTokens:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._grant(form, operation="token_refresh")

    def _credentials(self) -> tuple[str, str]:
        settings = self._settings
        if not settings.client_id or settings.client_secret is None:
            raise ConfigError(["enode.client_id and enode.client_secret must both be set"])
        return settings.client_id, settings.client_secret.get_secret_value()

    async def _grant(self, form: dict[str, str], *, operation: str) -> UserTokens:
        auth = self._credentials()
        try:
            response = await self._http.post(str(self._settings.token_url), data=form, auth=auth)
        except httpx.HTTPError as exc:
            self._metrics.record(operation, "transport")
            raise transport_error(exc, operation=operation) from exc
        self._metrics.record(operation, response.status_code)
        if response.status_code >= 400:
            raise api_error(response, operation=operation)
        body = wire.parse(wire.TokenResponse, response.content, operation=operation)
        expires_at = self._clock.now() + timedelta(seconds=body.expires_in)
        return UserTokens(body.access_token, body.refresh_token, expires_at)


def is_fresh(tokens: UserTokens, *, now: datetime) -> bool:
    return now < tokens.expires_at - timedelta(seconds=EXPIRY_MARGIN_S)


class ClientToken:
    """The client-credentials token, cached until shortly before expiry; one fetch at a time."""

    def __init__(self, endpoint: TokenEndpoint, *, clock: Clock) -> None:
        self._endpoint = endpoint
        self._clock = clock
        self._tokens: UserTokens | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        cached = self._tokens
        if cached and is_fresh(cached, now=self._clock.now()):
            return cached.access_token
        async with self._lock:
            cached = self._tokens
            if cached and is_fresh(cached, now=self._clock.now()):
                return cached.access_token
            self._tokens = await self._endpoint.client_credentials()
            log.info("enode_client_token_fetched", expires_at=self._tokens.expires_at.isoformat())
            return self._tokens.access_token

    def invalidate(self, stale: str) -> None:
        """Forget the token a 401 refused, unless another caller already replaced it."""
        if self._tokens and self._tokens.access_token == stale:
            self._tokens = None


class UserTokenManager:
    """Per-user access tokens from the TokenStore, refreshed once per user at a time."""

    def __init__(
        self,
        endpoint: TokenEndpoint,
        store: TokenStore,
        *,
        clock: Clock,
        metrics: EnodeMetrics,
    ) -> None:
        self._endpoint = endpoint
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._locks: dict[str, asyncio.Lock] = {}
        # Fresh access tokens in memory: one store read (and decryption) per user and token
        # lifetime instead of per request. A 401 goes to `refresh`, which reads the store again.
        self._fresh: dict[str, UserTokens] = {}

    async def access_token(self, user_id: str) -> str:
        cached = self._fresh.get(user_id)
        if cached is not None and is_fresh(cached, now=self._clock.now()):
            return cached.access_token
        tokens = await self._store.get_tokens(user_id)
        if tokens is None:
            raise await self.relink(user_id, reason="no tokens stored")
        if is_fresh(tokens, now=self._clock.now()):
            self._fresh[user_id] = tokens
            return tokens.access_token
        return (await self.refresh(user_id, stale=tokens.access_token)).access_token

    async def refresh(self, user_id: str, *, stale: str) -> UserTokens:
        """Replace the `stale` access token; callers queued behind a refresh reuse its result."""
        self._fresh.pop(user_id, None)
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            current = await self._store.get_tokens(user_id)
            if current is None:
                raise await self.relink(user_id, reason="no tokens stored")
            if current.access_token != stale and is_fresh(current, now=self._clock.now()):
                return current
            if not current.refresh_token:
                raise await self.relink(user_id, reason="no refresh token")
            return await self._refresh_with(user_id, current.refresh_token)

    async def _refresh_with(self, user_id: str, refresh_token: str) -> UserTokens:
        try:
            fresh = await self._endpoint.refresh(refresh_token)
        except EnodeApiError as exc:
            if exc.status >= 500 or exc.status == 429:
                raise
            raise await self.relink(user_id, reason=f"refresh refused: HTTP {exc.status}") from exc
        if fresh.refresh_token is None:
            # Without rotation the old refresh token stays valid.
            fresh = UserTokens(fresh.access_token, refresh_token, fresh.expires_at)
        await self._store.save_tokens(user_id, fresh)
        self._fresh[user_id] = fresh
        self._metrics.token_refreshes["user"] += 1
        log.info("enode_user_token_refreshed", user_id=user_id)
        return fresh

    async def relink(self, user_id: str, *, reason: str) -> NeedsRelink:
        """Mark the user as needing a new link and return the error to raise."""
        self._fresh.pop(user_id, None)
        await self._store.mark_needs_relink(user_id, reason=reason)
        log.warning("enode_user_needs_relink", user_id=user_id, reason=reason)
        return NeedsRelink(f"user {user_id} must link again: {reason}", user_id=user_id)
