"""Bearer API tokens: configured as sha256 hashes, compared in constant time, scoped read/write."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from enode_scheduler.config import ApiToken

__all__ = ["Caller", "Scope", "TokenTable", "hash_token"]

Scope = Literal["read", "write"]
# A write token may also read.
_GRANTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
}
_bearer = HTTPBearer(auto_error=False, description="An API token from `[[api.tokens]]`.")


def hash_token(token: str) -> str:
    """The hex sha256 of a token, as `[[api.tokens]] sha256` expects it."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who called: the configured token's name and scope (never the token itself)."""

    name: str
    scope: Scope


class TokenTable:
    """The configured tokens; `require(scope)` is a FastAPI dependency enforcing that scope."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = tuple((bytes.fromhex(t.sha256), t) for t in tokens)

    def identify(self, presented: str) -> Caller | None:
        """The caller whose hash matches; every entry is compared so timing shows nothing."""
        digest = hashlib.sha256(presented.encode()).digest()
        found: ApiToken | None = None
        for expected, token in self._tokens:
            if hmac.compare_digest(digest, expected) and found is None:
                found = token
        return Caller(found.name, found.scope) if found else None

    def require(self, scope: Scope) -> Callable[..., Awaitable[Caller]]:
        async def dependency(
            credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
        ) -> Caller:
            caller = self.identify(credentials.credentials) if credentials else None
            if caller is None:
                raise HTTPException(
                    401,
                    "A valid bearer token is required.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if scope not in _GRANTS[caller.scope]:
                raise HTTPException(403, f"This token's scope does not allow {scope}.")
            return caller

        return dependency
