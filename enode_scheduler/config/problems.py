"""Validation of merged raw config into a model, with one line per problem naming its source."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from enode_scheduler.config.sources import RawConfig, flatten, secret_keys
from enode_scheduler.exceptions import ConfigError

M = TypeVar("M", bound=BaseModel)
CrossChecks = Callable[[Any], list[tuple[str, str]]]


def validate(model: type[M], raw: RawConfig, *, default_label: str, cross_checks: CrossChecks) -> M:
    """The model, or ConfigError with lines `<source>: <dotted.key>: <what is wrong>`.

    A key gets one line only (its first problem), so a negative duration is not also reported
    as "must be greater than 0".
    """
    problems = dict.fromkeys(raw.problems, "")
    reported = set(raw.failed)

    def report(dotted: str, message: str) -> None:
        if dotted not in reported:
            reported.add(dotted)
            problems[f"{raw.origin_of(dotted, default_label)}: {dotted}: {message}"] = ""

    secrets = set(secret_keys(model))
    for dotted, value in flatten(raw.data):
        for message in _raw_checks(dotted, value, secrets):
            report(dotted, message)
    result: M | None = None
    try:
        result = model.model_validate(raw.data)
    except ValidationError as exc:
        for error in exc.errors():
            report(".".join(str(part) for part in error["loc"]), _message(error))
    if result is not None:
        for dotted, message in cross_checks(result):
            report(dotted, message)
    if problems or result is None:
        raise ConfigError(list(problems))
    return result


def _raw_checks(dotted: str, value: Any, secrets: set[str]) -> list[str]:
    name = dotted.rpartition(".")[2]
    if value == "" and (dotted in secrets or name.endswith("_id")):
        return ["must not be empty"]
    if isinstance(value, list) and dotted in secrets and any(item == "" for item in value):
        return ["must not contain empty strings"]
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if name.endswith("_s") and is_number and value < 0:
        return ["must not be negative (a duration in seconds)"]
    return []


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind.startswith("url_"):
        return "not a valid URL"
    if kind == "missing":
        return "required"
    message = error["msg"].removeprefix("Value error, ")
    return message.replace("Input should be", "must be").replace("input should be", "must be")
