"""What every command needs from the root app: the settings, loaded once per invocation.

Command modules import `settings_from_context` from here (cli.py re-exports it), since cli.py
imports the command modules. The settings model (pydantic) is imported only when a command asks
for it, so that `--help` and the commands that need no config start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from enode_scheduler.exceptions import ConfigError

if TYPE_CHECKING:
    from enode_scheduler.config import Settings


def settings_from_context(ctx: typer.Context) -> Settings:
    """The settings of this invocation (global --config), loaded once; a bad config exits 2
    with one line per problem on stderr."""
    root = ctx.find_root()
    if not isinstance(root.obj, dict):
        root.obj = {"config_path": None}
    obj = root.obj
    if "settings" not in obj:
        from enode_scheduler.config import load_settings

        try:
            obj["settings"] = load_settings(obj.get("config_path"))
        except ConfigError as exc:
            for line in exc.problems:
                typer.echo(line, err=True)
            raise typer.Exit(2) from exc
    settings: Settings = obj["settings"]
    return settings
