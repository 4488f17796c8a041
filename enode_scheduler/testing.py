"""In-memory twins of the ports, for fast tests. They really work; they are not mocks."""

from __future__ import annotations

from enode_scheduler.ports import UserTokens

# Enode token store twin


class InMemoryTokenStore:
    """A `ports.TokenStore` in a dict; records who was marked for re-linking and why."""

    def __init__(self) -> None:
        self.tokens: dict[str, UserTokens] = {}
        self.needs_relink: dict[str, str] = {}
        self.saves = 0

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        return self.tokens.get(user_id)

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        self.tokens[user_id] = tokens
        self.needs_relink.pop(user_id, None)
        self.saves += 1

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        self.needs_relink[user_id] = reason
