"""OAuth bookkeeping of the sim: tokens, authorization codes and link states."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

TokenKind = Literal["client", "user"]
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Token:
    kind: TokenKind
    user_id: str | None
    scopes: frozenset[str]
    expires_at: datetime


@dataclass
class Grant:
    """A link state or an authorization code: one-time, expiring, bound to a user."""

    user_id: str
    expires_at: datetime
    scopes: frozenset[str] = frozenset()
    redirect_uri: str | None = None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    expires_in_s: int
    scope: str


class AuthStore:
    """Issues and checks tokens; all lifetimes run on the sim clock passed as `now`."""

    def __init__(self, *, access_ttl_s: float, client_ttl_s: float, rotate: bool) -> None:
        self.access_ttl_s = access_ttl_s
        self.client_ttl_s = client_ttl_s
        self.rotate = rotate
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.link_states: dict[str, Grant] = {}
        self.codes: dict[str, Grant] = {}

    def issue_client(self, *, now: datetime) -> IssuedTokens:
        token = secrets.token_urlsafe(24)
        expires = now + timedelta(seconds=self.client_ttl_s)
        self.tokens[token] = Token("client", None, frozenset(), expires)
        return IssuedTokens(token, None, int(self.client_ttl_s), "")

    def issue_user(self, user_id: str, scopes: frozenset[str], *, now: datetime) -> IssuedTokens:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = Token(
            "user", user_id, scopes, now + timedelta(seconds=self.access_ttl_s)
        )
        refresh = secrets.token_urlsafe(24)
        # Refresh tokens live until used (with rotation) or revoked, as Enode's do.
        self.refresh_tokens[refresh] = Grant(user_id, _FOREVER, scopes)
        return IssuedTokens(token, refresh, int(self.access_ttl_s), " ".join(sorted(scopes)))

    def check(self, token: str, *, now: datetime) -> Token | None:
        found = self.tokens.get(token)
        if found is None or found.expires_at <= now:
            return None
        return found

    def refresh(self, refresh_token: str, *, now: datetime) -> IssuedTokens | None:
        grant = self.refresh_tokens.get(refresh_token)
        if grant is None:
            return None
        if self.rotate:
            del self.refresh_tokens[refresh_token]
        return self.issue_user(grant.user_id, grant.scopes, now=now)

    def new_link_state(self, user_id: str, *, now: datetime, ttl_s: float) -> str:
        state = secrets.token_urlsafe(16)
        self.link_states[state] = Grant(user_id, now + timedelta(seconds=ttl_s))
        return state

    def use_link_state(self, state: str, *, now: datetime) -> Grant | None:
        grant = self.link_states.pop(state, None)
        return grant if grant and grant.expires_at > now else None

    def new_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = grant
        return code

    def use_code(self, code: str, redirect_uri: str | None, *, now: datetime) -> Grant | None:
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at <= now:
            return None
        if grant.redirect_uri is not None and grant.redirect_uri != redirect_uri:
            return None
        return grant

    def revoke_user(self, user_id: str) -> int:
        """Drop every access and refresh token of the user; returns how many went."""
        access = [t for t, v in self.tokens.items() if v.user_id == user_id]
        refresh = [t for t, v in self.refresh_tokens.items() if v.user_id == user_id]
        for token in access:
            del self.tokens[token]
        for token in refresh:
            del self.refresh_tokens[token]
        return len(access) + len(refresh)

    def expire_all(self) -> None:
        """Make every access token expired now (tests of refresh-on-401)."""
        for token in self.tokens.values():
            token.expires_at = datetime.min.replace(tzinfo=UTC)
