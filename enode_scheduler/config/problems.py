"""Config problems as one line each: `<source>: <dotted.key>: <what is wrong>`."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

from pydantic_core import ErrorDetails

from enode_scheduler.config.sources import Trace


def problem_lines(
    trace: Trace,
    *,
    errors: Iterable[ErrorDetails] = (),
    checks: Iterable[tuple[str, str]] = (),
    default_label: str,
    known_keys: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """The sources' own problems, then one line per key for validation errors and cross checks.

    A key gets one line only (its first problem), and a key whose source failed (an unreadable
    secret file) none beyond that failure, so it is not also reported as required.
    """
    lines = dict.fromkeys(trace.problem_lines())
    reported = set(trace.failed)
    found = [(".".join(str(part) for part in e["loc"]), _message(e)) for e in errors]
    if known_keys is not None:
        found = [
            (dotted, _suggest(dotted, known_keys) if message == UNKNOWN_KEY else message)
            for dotted, message in found
        ]
    for dotted, message in [*found, *checks]:
        if dotted not in reported:
            reported.add(dotted)
            lines[f"{trace.origin_of(dotted, default_label)}: {dotted}: {message}"] = None
    return list(lines)


UNKNOWN_KEY = "unknown key"


def _suggest(dotted: str, known_keys: Callable[[str], list[str]]) -> str:
    """ "unknown key", with the nearest key of the same section when one is close (a typo)."""
    section, _, name = dotted.rpartition(".")
    close = difflib.get_close_matches(name, known_keys(section), n=1, cutoff=0.75)
    prefix = f"{section}." if section else ""
    return f"{UNKNOWN_KEY}; did you mean {prefix}{close[0]}?" if close else UNKNOWN_KEY


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return UNKNOWN_KEY
    if kind.startswith("url_"):
        return "not a valid URL"
    if kind == "missing":
        return "required"
    message = error["msg"].removeprefix("Value error, ")
    return message.replace("Input should be", "must be").replace("input should be", "must be")
