"""The OAuth link flow: one-time, expiring link states bound to a user, and the callback check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.config import EnodeSettings
from enode_scheduler.enode.auth import TokenEndpoint
from enode_scheduler.exceptions import LinkError
from enode_scheduler.ports import LinkStateStore, TokenStore

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class LinkSession:
    """A started link: send the person to `authorize_url` before `expires_at`."""

    user_id: str
    state: str
    authorize_url: str
    expires_at: datetime


def authorize_url(settings: EnodeSettings, *, state: str) -> str:
    """The Enode Link URL for one link state, with the configured scopes and redirect URI."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.client_id or "",
            "redirect_uri": str(settings.redirect_uri),
            "scope": " ".join(settings.scopes),
            "state": state,
        }
    )
    return f"{settings.authorize_url}?{query}"


class LinkFlow:
    """Starts links and completes callbacks; each state works once, for its user, until its TTL."""

    def __init__(
        self,
        settings: EnodeSettings,
        *,
        create_link_state: Callable[[str], Awaitable[str]],
        endpoint: TokenEndpoint,
        token_store: TokenStore,
        clock: Clock,
        states: LinkStateStore | None = None,
    ) -> None:
        self._settings = settings
        self._create_link_state = create_link_state
        self._endpoint = endpoint
        self._store = token_store
        self._clock = clock
        # The daemon keeps them in the database (a restart, another replica); the CLI's one-shot
        # `link` in memory.
        self._states: LinkStateStore = states or _MemoryStates(clock)

    async def start(self, user_id: str) -> LinkSession:
        state = await self._create_link_state(user_id)
        expires_at = self._clock.now() + timedelta(seconds=self._settings.link_state_ttl_s)
        await self._states.put_link_state(state, user_id=user_id, expires_at=expires_at)
        log.info("enode_link_started", user_id=user_id)
        url = authorize_url(self._settings, state=state)
        return LinkSession(user_id, state, url, expires_at)

    async def complete(self, params: Mapping[str, str], *, user_id: str | None = None) -> str:
        """Check a callback's query parameters, exchange the code and store the tokens.

        Returns the linked user id. `user_id`, when given, must be the user the state was issued
        for. Raises LinkError (with the OAuth `error` when the callback carried one).
        """
        owner = await self._consume_state(params.get("state"), user_id=user_id)
        error = params.get("error")
        if error:
            description = params.get("error_description") or "no description"
            log.warning("enode_link_refused", user_id=owner, error=error)
            raise LinkError(f"link refused for user {owner}: {error}: {description}", error=error)
        code = params.get("code")
        if not code:
            raise LinkError(f"callback for user {owner} carries neither code nor error")
        tokens = await self._endpoint.exchange_code(code)
        await self._store.save_tokens(owner, tokens)
        log.info("enode_link_completed", user_id=owner)
        return owner

    async def _consume_state(self, state: str | None, *, user_id: str | None) -> str:
        if not state:
            raise LinkError("callback without state")
        entry = await self._states.take_link_state(state)
        if entry is None:
            raise LinkError("unknown or already used link state")
        owner, expires_at = entry
        if self._clock.now() >= expires_at:
            raise LinkError(f"link state for user {owner} expired")
        if user_id is not None and user_id != owner:
            raise LinkError(f"link state was issued for another user, not {user_id}")
        return owner


class _MemoryStates:
    """Link states of one process (the CLI's `link`, tests without a database)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[str, tuple[str, datetime]] = {}

    async def put_link_state(self, state: str, *, user_id: str, expires_at: datetime) -> None:
        now = self._clock.now()
        self._states = {s: v for s, v in self._states.items() if v[1] > now}
        self._states[state] = (user_id, expires_at)

    async def take_link_state(self, state: str) -> tuple[str, datetime] | None:
        return self._states.pop(state, None)
