"""Config problems as one line each: `<source>: <dotted.key>: <what is wrong>`."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic_core import ErrorDetails

from enode_scheduler.config.sources import Trace


def problem_lines(
    trace: Trace,
    *,
    errors: Iterable[ErrorDetails] = (),
    checks: Iterable[tuple[str, str]] = (),
    default_label: str,
) -> list[str]:
    """The sources' own problems, then one line per key for validation errors and cross checks.

    A key gets one line only (its first problem), and a key whose source failed (an unreadable
    secret file) none beyond that failure, so it is not also reported as required.
    """
    lines = dict.fromkeys(trace.problem_lines())
    reported = set(trace.failed)
    found = [(".".join(str(part) for part in e["loc"]), _message(e)) for e in errors]
    for dotted, message in [*found, *checks]:
        if dotted not in reported:
            reported.add(dotted)
            lines[f"{trace.origin_of(dotted, default_label)}: {dotted}: {message}"] = None
    return list(lines)


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
