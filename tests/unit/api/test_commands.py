"""`enode-scheduler api hash-token`: the printed entry is accepted by the API's token table."""

from __future__ import annotations

import tomllib

from typer.testing import CliRunner

from enode_scheduler.api.auth import TokenTable
from enode_scheduler.cli import app
from enode_scheduler.config import ApiSettings

TOKEN = "s3cret-token-for-the-ops-team"


def test_hash_token_prints_a_pasteable_entry() -> None:
    result = CliRunner().invoke(
        app, ["api", "hash-token", "--name", "ops", "--scope", "write"], input=TOKEN + "\n"
    )
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    settings = ApiSettings.model_validate(tomllib.loads(result.output)["api"])
    caller = TokenTable(settings.tokens).identify(TOKEN)
    assert caller is not None
    assert (caller.name, caller.scope) == ("ops", "write")
    assert TokenTable(settings.tokens).identify(TOKEN + "x") is None


def test_hash_token_refuses_short_tokens_and_bad_names() -> None:
    short = CliRunner().invoke(app, ["api", "hash-token", "--name", "ops"], input="short\n")
    assert short.exit_code == 2
    assert "at least 16 characters" in short.output
    bad = CliRunner().invoke(app, ["api", "hash-token", "--name", 'a"b'], input=TOKEN + "\n")
    assert bad.exit_code == 2
    assert "--name" in bad.output
    scope = CliRunner().invoke(
        app, ["api", "hash-token", "--name", "x", "--scope", "admin"], input=TOKEN + "\n"
    )
    assert scope.exit_code == 2
