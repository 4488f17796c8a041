"""Encryption of user tokens at rest (Fernet, with key rotation)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from enode_scheduler.exceptions import ConfigError, TokenDecryptError

KEY_FILE_NAME = "token.key"


class TokenCipher:
    """Encrypts with the first key, decrypts with any, so rotation is "add a new key first"."""

    def __init__(
        self,
        keys: Sequence[bytes],
        *,
        source: str = "database.token_keys",
        created_key_file: Path | None = None,
    ) -> None:
        # Where the keys come from, for the one line that says which keys do not fit.
        self.source = source
        # The key file this process just generated (no key was there): removed again when the
        # stored tokens turn out to need the lost key, so that restoring it is all it takes.
        self.created_key_file = created_key_file
        if not keys:
            raise ConfigError(["database.token_keys: at least one key is needed"])
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ConfigError(
                ["database.token_keys: not a Fernet key (32 url-safe base64 bytes)"]
            ) from exc

    def encrypt(self, clear: str) -> str:
        return self._fernet.encrypt(clear.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise TokenDecryptError(
                "no configured database.token_keys key decrypts a stored token"
            ) from exc


def generate_key() -> str:
    """A fresh Fernet key, as text for the config file."""
    return Fernet.generate_key().decode("ascii")


def cipher_from_settings(keys: Sequence[str], *, state_dir: Path) -> TokenCipher:
    """The configured keys, or else the key in state_dir/token.key (created on first use)."""
    if keys:
        return TokenCipher([key.encode("ascii") for key in keys])
    path = state_dir / KEY_FILE_NAME
    key, created = _local_key(path)
    return TokenCipher(
        [key], source=f"the key file {path}", created_key_file=path if created else None
    )


def _local_key(path: Path) -> tuple[bytes, bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        # O_EXCL: two processes starting together must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip(), False
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    return key, True
