"""`enode-scheduler --help` lists every command with a one-line description."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from enode_scheduler.cli import app


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if hasattr(command, "commands"):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


def test_every_command_and_option_has_help() -> None:
    root = typer.main.get_command(app)
    assert hasattr(root, "commands")
    commands = _commands(root)
    assert {"check-config", "db", "db upgrade", "db current", "db downgrade"} <= dict(
        commands
    ).keys()
    for name, command in commands:
        assert (command.help or "").strip(), f"{name} has no help"
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.opts[0]} has no help"


def test_root_help_lists_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "check-config" in result.output
    assert "Database schema migrations" in result.output
