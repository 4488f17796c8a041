"""`enode-scheduler notify test`: a signed test message to a loopback receiver."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.notify.targets import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.receiver import Receiver

SECRET = "whsec-cli-0123456789"


def _config(tmp_path: Path, receiver: Receiver) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n'
        f'[[notify]]\nname = "hook"\nwebhook_url = "{receiver.url}/t"\n'
        f'webhook_secret = "{SECRET}"\n'
        f'[[notify]]\nname = "mail"\nurl = "json://127.0.0.1:{receiver.port}/apprise"\n'
    )
    return path


def test_notify_test_sends_to_every_target_or_one(tmp_path: Path) -> None:
    with Receiver() as receiver:
        config = _config(tmp_path, receiver)
        result = CliRunner().invoke(app, ["--config", str(config), "notify", "test"])
        assert result.exit_code == 0, result.output
        assert "hook: sent" in result.output
        assert "mail: sent" in result.output
        hook = next(r for r in receiver.accepted() if r.path == "/t")
        assert hook.json()["kind"] == "test"
        assert verify_signature(
            SECRET, hook.body, timestamp=hook.headers[TIMESTAMP_HEADER.lower()],
            signature=hook.headers[SIGNATURE_HEADER.lower()],
            now_unix=float(hook.headers[TIMESTAMP_HEADER.lower()]),
        )  # fmt: skip
        only = CliRunner().invoke(
            app, ["--config", str(config), "notify", "test", "--target", "hook"]
        )
        assert only.exit_code == 0
        assert "mail" not in only.output
        assert len(receiver.accepted()) == 3


def test_notify_test_fails_when_a_target_refuses_or_is_unknown(tmp_path: Path) -> None:
    with Receiver() as receiver:
        receiver.status = 500
        config = _config(tmp_path, receiver)
        result = CliRunner().invoke(
            app, ["--config", str(config), "notify", "test", "--target", "hook"]
        )
        assert result.exit_code == 1
        assert "hook: FAILED: HTTP 500" in result.output
        unknown = CliRunner().invoke(
            app, ["--config", str(config), "notify", "test", "--target", "nope"]
        )
        assert unknown.exit_code == 2
        assert "no [[notify]] entry has that name (hook, mail)" in unknown.output
    empty = tmp_path / "empty.toml"
    empty.write_text(f'state_dir = "{tmp_path}"\n')
    none = CliRunner().invoke(app, ["--config", str(empty), "notify", "test"])
    assert none.exit_code == 2
