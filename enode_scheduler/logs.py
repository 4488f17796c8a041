"""structlog set-up: JSON lines for machines, a readable console for people, secrets masked."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from enode_scheduler.config import LoggingSettings

MASK = "***"
_SECRET_KEY = re.compile(
    r"token|secret|password|passwd|authorization|refresh|api_?key|credential|cookie|^code$",
    re.IGNORECASE,
)
# Keys that name something about a secret without being one (token_url, token_expires_at).
_NOT_SECRET_SUFFIXES = ("_url", "_uri", "_at", "_s", "_count", "_total")


def is_secret_key(key: str) -> bool:
    """Whether a value logged under `key` must not be shown."""
    return bool(_SECRET_KEY.search(key)) and not key.lower().endswith(_NOT_SECRET_SUFFIXES)


def mask_secrets(value: Any) -> Any:
    """A copy of `value` with the values of secret-looking keys masked, at any depth."""
    if isinstance(value, Mapping):
        return {
            k: MASK if isinstance(k, str) and is_secret_key(k) else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value


def mask_processor(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret values before anything renders them."""
    masked: EventDict = mask_secrets(event_dict)
    return masked


def iso_times(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: datetimes as ISO 8601 on the console too, not as their repr."""
    for key, value in event_dict.items():
        if isinstance(value, datetime | date | time):
            event_dict[key] = value.isoformat()
    return event_dict


def configure_logging(settings: LoggingSettings, *, stream: TextIO | None = None) -> None:
    """Send structlog (and stdlib logging) to `stream` (stderr by default) at the set level.

    Format "auto" means console when the stream is a terminal, JSON lines otherwise.
    """
    out = stream if stream is not None else sys.stderr
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    renderer = _renderer(settings.format, out)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_processor,
        iso_times,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(shared, renderer, out, level)


@contextmanager
def logging_to(settings: LoggingSettings, stream: TextIO) -> Iterator[None]:
    """`configure_logging` to `stream` for a while, then the configuration before it again: a
    stream that closes (the demo's log file) must not stay the destination of every later line."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(settings, stream=stream)
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.handlers, root.level = handlers, level


def _renderer(fmt: str, out: TextIO) -> Processor:
    is_tty = hasattr(out, "isatty") and out.isatty()
    if fmt == "json" or (fmt == "auto" and not is_tty):
        return structlog.processors.JSONRenderer(default=_json_value)
    return structlog.dev.ConsoleRenderer(colors=is_tty)


def _json_value(value: object) -> object:
    """Times as ISO 8601 (what log pipelines parse), anything else as its repr."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return repr(value)


def _route_stdlib(shared: list[Processor], renderer: Processor, out: TextIO, level: int) -> None:
    # Libraries (uvicorn, alembic, apscheduler) log through stdlib; render them the same way.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and some sources (ENTSO-E's securityToken) carry
    # their secret in the query string; our adapters log what matters without the URL.
    # alembic narrates every migration step at INFO; `schema_upgraded` says what matters.
    for name in (*_URL_LOGGING_LIBRARIES, "alembic"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


_URL_LOGGING_LIBRARIES = ("httpx", "httpcore")
