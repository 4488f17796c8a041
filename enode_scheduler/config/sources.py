"""Layered raw config for `config.load_settings`: TOML, secret files, environment.

Each layer is a nested dict plus, per dotted key, where the value came from, so a validation
error can name the file or variable to fix. Nothing here knows the section models except through
the pydantic model class it is handed.
"""

from __future__ import annotations

import json
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

ENV_PREFIX = "ENODE_SCHEDULER__"
FILE_SUFFIX = "_file"


@dataclass
class RawConfig:
    """Merged raw values and the origin of each dotted key ("config.toml", "$ENV_VAR", a path)."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Keys whose source failed (an unreadable secret file): reported once, not again as missing.
    failed: set[str] = field(default_factory=set)

    def set(self, dotted: str, value: Any, *, origin: str) -> None:
        *parents, last = dotted.split(".")
        node = self.data
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                self.problems.append(f"{origin}: {dotted}: {part} is not a table")
                return
            node = child
        node[last] = value
        self.origins[dotted] = origin

    def origin_of(self, dotted: str, default: str) -> str:
        below = next((o for key, o in self.origins.items() if key.startswith(f"{dotted}.")), None)
        while dotted:
            if dotted in self.origins:
                return self.origins[dotted]
            dotted = dotted.rpartition(".")[0]
        return below or default


def read_toml(path: Path, raw: RawConfig) -> None:
    """Merge a TOML file; problems (missing, unreadable, bad syntax) go to `raw.problems`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raw.problems.append(f"{path}: file not found")
        return
    except (OSError, UnicodeDecodeError) as exc:
        raw.problems.append(f"{path}: cannot read: {_reason(exc)}")
        return
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message carries "(at line N, column M)".
        raw.problems.append(f"{path}: TOML syntax error: {exc}")
        return
    for dotted, value in flatten(document):
        raw.set(dotted, value, origin=str(path))


def flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted keys of nested tables; arrays and scalars are leaves."""
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{dotted}.")
        else:
            yield dotted, value


def read_env(environ: Mapping[str, str], model: type[BaseModel], raw: RawConfig) -> None:
    """Merge ENODE_SCHEDULER__SECTION__KEY variables (lists as JSON or comma-separated)."""
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        dotted = ".".join(name[len(ENV_PREFIX) :].lower().split("__"))
        raw.set(dotted, _env_value(environ[name], field_type(model, dotted)), origin=f"${name}")


def secret_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted keys of every SecretStr field (or tuple of them), nested sections included."""
    keys = []
    for name, info in model.model_fields.items():
        inner = _section_model(info.annotation)
        if inner is not None:
            keys.extend(secret_keys(inner, f"{prefix}{name}."))
        elif _mentions(info.annotation, SecretStr):
            keys.append(f"{prefix}{name}")
    return keys


def field_type(model: type[BaseModel], dotted: str) -> Any:
    """The annotation of a dotted key, or None when the key is unknown."""
    current: Any = model
    for part in dotted.split("."):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _section_model(info.annotation) or info.annotation
    return current


def read_secret_file(path: Path, annotation: Any) -> str | list[str]:
    """A secret from a file, trailing newline dropped; a list (one per line) for tuple fields."""
    text = path.read_text(encoding="utf-8")
    if _is_tuple(annotation):
        return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
    return text.rstrip("\r\n")


def _env_value(value: str, annotation: Any) -> Any:
    if value.startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if _is_tuple(annotation):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _mentions(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_mentions(arg, target) for arg in typing.get_args(annotation))


def _is_tuple(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (tuple, list):
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_tuple(arg) for arg in typing.get_args(annotation))
    return False


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def merge(layers: list[RawConfig], *, default_label: str) -> RawConfig:
    """One RawConfig where each later layer replaces the keys it sets."""
    merged = RawConfig()
    for layer in layers:
        merged.problems.extend(layer.problems)
        merged.failed |= layer.failed
        for dotted, value in flatten(layer.data):
            merged.set(dotted, value, origin=layer.origin_of(dotted, default_label))
    return merged


def resolve_file_keys(raw: RawConfig, model: type[BaseModel], *, base_dir: Path) -> None:
    """Replace `<secret>_file = path` by the file's content, within one source."""
    secrets = set(secret_keys(model))
    for dotted, value in list(flatten(raw.data)):
        key = dotted.removesuffix(FILE_SUFFIX)
        if key == dotted or key not in secrets:
            continue
        origin = raw.origins.get(dotted, "")
        _pop(raw.data, dotted)
        if key in raw.origins:
            raw.problems.append(f"{origin}: {key}: give either {key} or {dotted}, not both")
            continue
        secret_path = base_dir / Path(str(value)).expanduser()
        try:
            content = read_secret_file(secret_path, field_type(model, key))
        except (OSError, UnicodeDecodeError) as exc:
            raw.problems.append(f"{origin}: {dotted}: cannot read {secret_path}: {_reason(exc)}")
            raw.failed.add(key)
            continue
        raw.set(key, content, origin=str(secret_path))


def read_secret_dirs(model: type[BaseModel], directories: list[Path]) -> RawConfig:
    """Secrets from files named `<section>.<key>`; a later directory wins over an earlier one."""
    raw = RawConfig()
    for directory in directories:
        for key in secret_keys(model):
            candidate = directory / key
            if not candidate.is_file():
                continue
            try:
                content = read_secret_file(candidate, field_type(model, key))
            except (OSError, UnicodeDecodeError) as exc:
                raw.problems.append(f"{candidate}: {key}: cannot read: {_reason(exc)}")
                raw.failed.add(key)
                continue
            raw.set(key, content, origin=str(candidate))
    return raw


def _pop(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    data.pop(last, None)
