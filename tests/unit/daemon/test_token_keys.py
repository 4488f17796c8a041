"""`run` refuses keys that cannot read the stored tokens: exit 2, one line naming the source."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.records import UserTokens
from enode_scheduler.store import open_store
from tests.e2e.harness import CLI, subprocess_env

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def write_config(tmp_path: Path, keys: list[str] | None) -> Path:
    lines = [
        f'state_dir = "{tmp_path}"',
        "[enode]",
        'client_id = "id"',
        'client_secret = "secret"',
        'api_url = "http://127.0.0.1:9/"',
        'token_url = "http://127.0.0.1:9/oauth2/token"',
        "[database]",
        "auto_migrate = true",
        *([f"token_keys = {keys!r}".replace("'", '"')] if keys else []),
        "[prices]",
        'source = "fixed"',
        'zone = "NO1"',
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def seed_tokens(tmp_path: Path, keys: list[str]) -> None:
    settings = DatabaseSettings(auto_migrate=True, token_keys=keys)
    async with open_store(settings, state_dir=tmp_path) as store:
        expires = datetime.now(UTC) + timedelta(hours=1)
        for user in ("u1", "u2"):
            await store.tokens.save_tokens(user, UserTokens("access", "refresh", expires))


def run(config: Path) -> tuple[int, str]:
    """`enode-scheduler run` as a process; returns its exit code and its last stderr line."""
    done = subprocess.run(
        [*CLI, "--config", str(config), "run"], capture_output=True, text=True, timeout=60,
        env=subprocess_env(),
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr.strip().splitlines()[-1]


def test_run_refuses_a_wrong_key_set_with_exit_2(tmp_path: Path) -> None:
    asyncio.run(seed_tokens(tmp_path, [KEY_A]))
    code, err = run(write_config(tmp_path, [KEY_B]))
    assert code == 2
    assert err.startswith("database.token_keys: no configured key decrypts")


def test_a_lost_key_file_is_not_silently_replaced(tmp_path: Path) -> None:
    asyncio.run(seed_tokens(tmp_path, []))  # tokens encrypted with the generated token.key
    key_file = tmp_path / "token.key"
    key_file.unlink()
    code, err = run(write_config(tmp_path, None))
    assert code == 2
    assert f"the key file {key_file}" in err
    assert not key_file.exists()  # restoring the old file is all it takes
