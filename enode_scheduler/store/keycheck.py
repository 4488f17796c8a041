"""Start-up check that the configured token keys can read what is stored."""

from __future__ import annotations

from sqlalchemy import select

from enode_scheduler.exceptions import ConfigError, TokenDecryptError
from enode_scheduler.store.base import Repository
from enode_scheduler.store.crypto import TokenCipher
from enode_scheduler.store.schema import token_key_check_table, users_table

_CHECK_ID = 1
_CHECK_TEXT = "enode-scheduler token key check"
# Enough users to tell "these keys never encrypted anything here" from one damaged row.
_SAMPLE = 20


class SqlKeyCheck(Repository):
    async def verify(self, cipher: TokenCipher) -> None:
        """Raise ConfigError (one line, naming the key source) when the keys cannot read the
        stored check value, or, before there is one, any of the stored tokens; store the check
        value when they can."""
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(token_key_check_table.c.value_enc).where(
                        token_key_check_table.c.id == _CHECK_ID
                    )
                )
            ).one_or_none()
            if row is not None:
                if _readable(cipher, row.value_enc):
                    return
                self._refuse(cipher, "the stored key check value")
            sample = (
                await conn.execute(
                    select(users_table.c.access_token_enc)
                    .where(users_table.c.access_token_enc.is_not(None))
                    .limit(_SAMPLE)
                )
            ).scalars()
            tokens = [t for t in sample if t]
            if tokens and not any(_readable(cipher, t) for t in tokens):
                self._refuse(cipher, f"any of {len(tokens)} stored user tokens")
            stmt = self._insert(token_key_check_table).values(
                id=_CHECK_ID, value_enc=cipher.encrypt(_CHECK_TEXT), created_at=self._clock.now()
            )
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))

    @staticmethod
    def _refuse(cipher: TokenCipher, what: str) -> None:
        if cipher.created_key_file is not None:
            # Generated just now because the file was missing: keep the way open to restore it.
            cipher.created_key_file.unlink(missing_ok=True)
        raise ConfigError(
            [
                f"{cipher.source}: no configured key decrypts {what}; configure the key(s) "
                "that encrypted them (every replica needs the same database.token_keys, or "
                "restore the token.key file), or re-link the users"
            ]
        )


def _readable(cipher: TokenCipher, value: str) -> bool:
    try:
        cipher.decrypt(value)
    except TokenDecryptError:
        return False
    return True
