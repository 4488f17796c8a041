"""The configuration reference (docs/configuration.md), generated from the Settings model.

Generated rather than written so it cannot drift: a test regenerates it and compares. Every field
needs a `Field(description=...)`; one without is rendered as UNDOCUMENTED and listed by
`undocumented_keys`, which a test keeps empty.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from datetime import datetime, time
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AnyHttpUrl, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from enode_scheduler.config import Settings
from enode_scheduler.config.sources import mentions_secret

ENV_PREFIX = "ENODE_SCHEDULER"
UNDOCUMENTED = "UNDOCUMENTED: add Field(description=...) in enode_scheduler/config/models.py"

_INTRO = """\
# Configuration reference

<!-- Generated from enode_scheduler/config/models.py by `enode-scheduler config-reference`.
     Do not edit; change the field descriptions and regenerate. -->

Settings come from one TOML file, given with `--config FILE` or the environment variable
`ENODE_SCHEDULER_CONFIG`; without a file the defaults below apply. Run
`enode-scheduler check-config FILE` to validate a file before you deploy it.

Sources, lowest precedence first; a later one replaces a key an earlier one set:

1. the defaults below;
2. the TOML file;
3. secret files named `<section>.<key>` (e.g. `enode.client_secret`) in `/run/secrets` (Docker
   and Compose secrets), then in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`);
4. environment variables `ENODE_SCHEDULER__SECTION__KEY` (sections nest with `__`, e.g.
   `ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN`). Lists there are JSON (`["a", "b"]`) or
   comma-separated.

Keys marked **secret** are never logged, and only they can come from files: `<key>_file = "path"`
in the TOML file (relative to it), a secret file as in 3., or `ENODE_SCHEDULER__..._FILE` naming
a file. A list in a file is one item per line. Giving both `<key>` and `<key>_file` in one source
is an error.
"""


def render_reference(model: type[BaseModel] = Settings) -> str:
    """The Markdown configuration reference for `model`, one table per TOML section."""
    parts = [_INTRO]
    for title, env, section in _sections(model, path=(), array=False):
        parts.append(_render_section(title, env, section))
    return "\n".join(parts)


def undocumented_keys(model: type[BaseModel] = Settings) -> list[str]:
    """`Model.field` for every field without a description, nested sections included."""
    missing = []
    for _, _, section in _sections(model, path=(), array=False):
        missing += [
            f"{section.__name__}.{name}"
            for name, info in section.model_fields.items()
            if not info.description
        ]
    return missing


def _sections(
    model: type[BaseModel], *, path: tuple[str, ...], array: bool
) -> Iterator[tuple[str, str | None, type[BaseModel]]]:
    yield _title(path, array), None if array else _env_pattern(path), model
    for name, info in model.model_fields.items():
        sub = _submodel(info.annotation)
        if sub is not None:
            yield from _sections(sub[0], path=(*path, name), array=array or sub[1])


def _submodel(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The model a field nests (and whether it is an array of tables), or None for a plain key."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) is tuple:
        item = get_args(annotation)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item, True
    return None


def _title(path: tuple[str, ...], array: bool) -> str:
    if not path:
        return "Top level"
    dotted = ".".join(path)
    return f"`[[{dotted}]]` (array of tables)" if array else f"`[{dotted}]`"


def _env_pattern(path: tuple[str, ...]) -> str:
    return "__".join((ENV_PREFIX, *(part.upper() for part in path), "<KEY>"))


def _render_section(title: str, env: str | None, model: type[BaseModel]) -> str:
    lines = [f"## {title}", ""]
    if model.__doc__ and model.__doc__ != BaseModel.__doc__:
        lines += [inspect.cleandoc(model.__doc__), ""]
    if env is not None:
        lines += [f"Environment: `{env}`", ""]
    lines += ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        if _submodel(info.annotation) is None:
            lines.append(_render_row(model, name, info))
    return "\n".join(lines) + "\n"


def _render_row(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    kind = _type_text(info.annotation)
    if mentions_secret(info.annotation):
        kind += ", **secret**"
    constraint = _constraint_text(info)
    if constraint:
        kind += f", {constraint}"
    cells = [f"`{name}`", kind, _default_text(info), info.description or UNDOCUMENTED]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "string",
    AnyHttpUrl: "URL",
    time: "local time (HH:MM:SS)",
    datetime: "date-time (ISO 8601)",
}


def _type_text(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        return _type_text(rest[0]) + " (optional)"
    if origin is tuple:
        return f"list of {_type_text(args[0])}"
    if origin is Literal:
        return "one of " + ", ".join(f'`"{arg}"`' for arg in args)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return str(annotation)


def _constraint_text(info: FieldInfo) -> str:
    symbols = {
        annotated_types.Gt: ("gt", ">"),
        annotated_types.Ge: ("ge", ">="),
        annotated_types.Lt: ("lt", "<"),
        annotated_types.Le: ("le", "<="),
    }
    found = []
    for item in info.metadata:
        if type(item) in symbols:
            attr, symbol = symbols[type(item)]
            found.append(f"{symbol} {getattr(item, attr)}")
        elif getattr(item, "pattern", None):
            found.append(f"matches `{item.pattern}`")
    return ", ".join(found)


def _default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return "see description"
    if info.default is PydanticUndefined:
        return "required"
    if info.default is None:
        return "unset"
    return f"`{_toml_value(info.default)}`"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, Enum):
        return _toml_value(value.value)
    return f'"{value}"'
