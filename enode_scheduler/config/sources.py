"""Where settings come from: pydantic-settings sources, each wrapped so errors can name the origin.

pydantic-settings reads, nests, decodes and merges; what it cannot do is say where a value came
from, so every source is wrapped in `Traced`, which records the origin of each key it gives
("config.toml", "$ENODE_SCHEDULER__X__Y", a secret file's path) and reads `<secret>_file` keys.
Nothing here knows the section models except through the settings class it is handed.
"""

from __future__ import annotations

import json
import tomllib
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from enode_scheduler.exceptions import ConfigError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

ENV_PREFIX = "ENODE_SCHEDULER__"
ENV_DELIMITER = "__"
FILE_SUFFIX = "_file"
STATE_DIRECTORY = "STATE_DIRECTORY"


@dataclass
class Trace:
    """What the sources of one load found out besides values: origins, problems, failed keys."""

    # dotted key -> where its value came from; the first source to give a key wins, because
    # pydantic-settings calls sources from the highest precedence down.
    origins: dict[str, str] = field(default_factory=dict)
    # (precedence, line): reported lowest precedence first, like the documented source order.
    problems: list[tuple[int, str]] = field(default_factory=list)
    # Keys whose source failed (an unreadable secret file): reported once, not again as missing.
    failed: set[str] = field(default_factory=set)

    def problem_lines(self) -> list[str]:
        return [line for _, line in sorted(self.problems, key=lambda item: item[0])]

    def origin_of(self, dotted: str, default: str) -> str:
        """The origin of a key, else of the table holding it, else of a key below it."""
        below = next((o for key, o in self.origins.items() if key.startswith(f"{dotted}.")), None)
        while dotted:
            if dotted in self.origins:
                return self.origins[dotted]
            dotted = dotted.rpartition(".")[0]
        return below or default


class Traced(PydanticBaseSettingsSource):
    """One source, with the origin of every key it gives recorded in `trace`.

    With `files_relative_to`, `<secret>_file = path` keys of this source are replaced by the file's
    content (a relative path is taken from that directory); a key and its `_file` twin in the same
    source is an error. Problems a wrapped source collected itself (`SecretDirectory.problems`,
    `.failed`) are handed on to the trace.
    """

    def __init__(
        self,
        source: PydanticBaseSettingsSource,
        trace: Trace,
        *,
        origin: Callable[[str], str],
        rank: int,
        files_relative_to: Path | None = None,
    ) -> None:
        super().__init__(source.settings_cls)
        self.source = source
        self.trace = trace
        self.origin = origin
        self.rank = rank
        self.files_relative_to = files_relative_to

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ hands over the wrapped source's whole result.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = self.source()
        for line in getattr(self.source, "problems", ()):
            self.trace.problems.append((self.rank, line))
        self.trace.failed |= getattr(self.source, "failed", set())
        file_origins = {}
        if self.files_relative_to is not None:
            file_origins = self._read_file_keys(data, self.files_relative_to)
        for dotted, _ in flatten(data):
            self.trace.origins.setdefault(dotted, file_origins.get(dotted) or self.origin(dotted))
        return data

    def _read_file_keys(self, data: dict[str, Any], base_dir: Path) -> dict[str, str]:
        secrets = set(secret_keys(self.settings_cls))
        given = {dotted for dotted, _ in flatten(data)}
        origins = {}
        for dotted, value in list(flatten(data)):
            key = dotted.removesuffix(FILE_SUFFIX)
            if key == dotted or key not in secrets:
                continue
            origin = self.origin(dotted)
            _pop(data, dotted)
            if key in given:
                self._problem(f"{origin}: {key}: give either {key} or {dotted}, not both")
                continue
            path = base_dir / Path(str(value)).expanduser()
            try:
                content = read_secret_file(path, field_type(self.settings_cls, key))
            except (OSError, UnicodeDecodeError) as exc:
                self._problem(f"{origin}: {dotted}: cannot read {path}: {_reason(exc)}")
                self.trace.failed.add(key)
                continue
            _put(data, key, content)
            origins[key] = str(path)
        return origins

    def _problem(self, line: str) -> None:
        self.trace.problems.append((self.rank, line))


class TomlFile(TomlConfigSettingsSource):
    """The config file; a missing, unreadable or malformed file is a ConfigError at once."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls, toml_file=path)

    def _read_files(self, files: Any, deep_merge: bool = False) -> dict[str, Any]:
        # The base class skips a file that does not exist; a named config file must exist.
        return self._read_file(Path(files))

    def _read_file(self, path: Any) -> dict[str, Any]:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{path}: file not found"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: cannot read: {_reason(exc)}"]) from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # The message carries "(at line N, column M)".
            raise ConfigError([f"{path}: TOML syntax error: {exc}"]) from None


class _Named(EnvSettingsSource):
    """Values by name, nested and decoded by pydantic-settings as environment variables are.

    A list is JSON (`["a", "b"]`) when `json_lists`, else items separated by commas, or by lines
    when `lines` too. A value pydantic-settings cannot decode is passed on as it is, for
    validation to name; nothing here raises.
    """

    json_lists = True
    lines = False

    def decode_complex_value(self, field_name: str, field: FieldInfo | None, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if self.json_lists and value.startswith(("[", "{")):
            try:
                return json.loads(value)
            except ValueError:
                return value
        if field is not None and _is_tuple(field.annotation):
            return split_items(value, lines=self.lines)
        return value

    def __call__(self) -> dict[str, Any]:
        return _empty_lists(super().__call__(), self.settings_cls)


class Environment(_Named):
    """`ENODE_SCHEDULER__SECTION__KEY` variables of `environ` (passed in, so tests need not patch).

    The prefix is matched exactly and the rest case-insensitively, as before pydantic-settings.
    `names` maps each dotted key given to its variable, for error messages.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.names: dict[str, str] = {}
        super().__init__(
            settings_cls,
            case_sensitive=True,
            env_prefix=ENV_PREFIX,
            env_nested_delimiter=ENV_DELIMITER,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        found: dict[str, str | None] = {}
        for name, value in self.environ.items():
            if name.startswith(ENV_PREFIX):
                rest = name[len(ENV_PREFIX) :].lower()
                found[ENV_PREFIX + rest] = value
                self.names[".".join(rest.split(ENV_DELIMITER))] = name
        return found

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        # pydantic-settings only looks for the model's own fields; an unknown top-level key in
        # the environment is still refused, as in the TOML file.
        for dotted in self.names:
            top = dotted.partition(".")[0]
            if top not in self.settings_cls.model_fields:
                _put(data, dotted, self.environ[self.names[dotted]])
        return data

    def origin(self, dotted: str) -> str:
        """`$NAME` of the variable that gave `dotted` (itself or the table holding it)."""
        key = dotted
        while key:
            if key in self.names:
                return f"${self.names[key]}"
            key = key.rpartition(".")[0]
        return f"${ENV_PREFIX}{dotted.upper().replace('.', ENV_DELIMITER)}"


class SecretDirectory(_Named):
    """Secret files named `<section>.<key>` in one directory (Docker secrets, systemd credentials).

    Only secret keys are read from files; a list is one item per line. An unreadable file is a
    problem for the trace, not an exception.
    """

    json_lists = False
    lines = True

    def __init__(self, settings_cls: type[BaseSettings], directory: Path) -> None:
        self.directory = directory
        self.problems: list[str] = []
        self.failed: set[str] = set()
        super().__init__(settings_cls, case_sensitive=True, env_prefix="", env_nested_delimiter=".")

    def _load_env_vars(self) -> Mapping[str, str | None]:
        found: dict[str, str | None] = {}
        for key in secret_keys(self.settings_cls):
            path = self.directory / key
            if not path.is_file():
                continue
            try:
                found[key] = path.read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                self.problems.append(f"{path}: {key}: cannot read: {_reason(exc)}")
                self.failed.add(key)
        return found

    def origin(self, dotted: str) -> str:
        return str(self.directory / dotted)


class StateDirectory(PydanticBaseSettingsSource):
    """`state_dir` from systemd's $STATE_DIRECTORY (its first entry), below every other source."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        value = self.environ.get(STATE_DIRECTORY)
        return {"state_dir": value.split(":")[0]} if value else {}


def layered_sources(
    settings_cls: type[BaseSettings],
    trace: Trace,
    *,
    path: Path | None,
    environ: Mapping[str, str],
    secret_dirs: list[Path],
) -> list[PydanticBaseSettingsSource]:
    """The sources of `load_settings`, lowest precedence first, each one `Traced`."""
    layers: list[PydanticBaseSettingsSource] = []

    def add(
        source: PydanticBaseSettingsSource,
        origin: Callable[[str], str],
        files_relative_to: Path | None = None,
    ) -> None:
        rank = len(layers)
        layers.append(
            Traced(source, trace, origin=origin, rank=rank, files_relative_to=files_relative_to)
        )

    add(StateDirectory(settings_cls, environ), lambda _: f"${STATE_DIRECTORY}")
    if path is not None:
        add(TomlFile(settings_cls, path), lambda _: str(path), files_relative_to=path.parent)
    for directory in secret_dirs:
        secrets = SecretDirectory(settings_cls, directory)
        add(secrets, secrets.origin)
    env = Environment(settings_cls, environ)
    add(env, env.origin, files_relative_to=Path.cwd())
    return layers


def flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted keys of nested tables; arrays and scalars are leaves."""
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{dotted}.")
        else:
            yield dotted, value


def secret_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted keys of every SecretStr field (or tuple of them), nested sections included."""
    keys = []
    for name, info in model.model_fields.items():
        inner = _section_model(info.annotation)
        if inner is not None:
            keys.extend(secret_keys(inner, f"{prefix}{name}."))
        elif mentions_secret(info.annotation):
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
    return split_items(text, lines=True) if _is_tuple(annotation) else text.rstrip("\r\n")


def split_items(text: str, *, lines: bool) -> list[str]:
    """List items separated by commas, and also by line breaks when `lines`; blanks dropped."""
    parts = text.replace(",", "\n").splitlines() if lines else text.split(",")
    return [part.strip() for part in parts if part.strip()]


def _empty_lists(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    # An empty variable for a list means no items; pydantic-settings would pass "" on.
    for dotted, value in list(flatten(data)):
        if value == "" and _is_tuple(field_type(model, dotted)):
            _put(data, dotted, [])
    return data


def _section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def mentions_secret(annotation: Any) -> bool:
    """Whether an annotation is SecretStr or holds one (`SecretStr | None`, a tuple of them)."""
    if annotation is SecretStr:
        return True
    return any(mentions_secret(arg) for arg in typing.get_args(annotation))


def _is_tuple(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (tuple, list):
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_tuple(arg) for arg in typing.get_args(annotation))
    return False


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        child = data.setdefault(part, {})
        if not isinstance(child, dict):
            return
        data = child
    data[last] = value


def _pop(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    data.pop(last, None)
