"""`enode-scheduler check-config FILE`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from enode_scheduler.exceptions import ConfigError


def check_config(
    file: Annotated[Path, typer.Argument(help="The TOML config file to check.", dir_okay=False)],
) -> None:
    """Validate a config file and print the effective config, secrets masked."""
    from enode_scheduler.config import load_settings  # pydantic: only when a config is read

    try:
        settings = load_settings(file)
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(line, err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"# {file}: OK. Effective config (defaults, file, secret files, environment):")
    typer.echo("\n".join(to_toml(settings.model_dump(mode="json"))))


def to_toml(document: Mapping[str, Any], table: str = "") -> Iterator[str]:
    """Lines of TOML for the settings dump; unset keys appear as comments."""
    nested = {k: v for k, v in document.items() if isinstance(v, dict)}
    tables = {k: v for k, v in document.items() if _is_table_array(v)}
    for key, value in document.items():
        if key in nested or key in tables:
            continue
        yield f"# {key} is not set" if value is None else f"{key} = {_value(value)}"
    for key, value in nested.items():
        yield ""
        yield f"[{table}{key}]"
        yield from to_toml(value, f"{table}{key}.")
    for key, items in tables.items():
        for item in items:
            yield ""
            yield f"[[{table}{key}]]"
            yield from to_toml(item, f"{table}{key}.")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
