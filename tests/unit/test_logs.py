"""Logging: secrets masked at any depth, JSON for machines, console for people."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog

from enode_scheduler.config import LoggingSettings
from enode_scheduler.logs import MASK, configure_logging, is_secret_key, logging_to, mask_secrets


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers = []


@pytest.mark.parametrize(
    "key",
    ["access_token", "refresh", "client_secret", "password", "Authorization", "api_key", "code"],
)
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["token_url", "token_expires_at", "user_id", "status_code", "event"]
)
def test_keys_that_only_talk_about_secrets(key: str) -> None:
    assert not is_secret_key(key)


def test_masking_reaches_nested_values() -> None:
    event = {
        "event": "http_request",
        "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
        "body": [{"refresh_token": "r1", "user": {"password": "p"}}, "plain"],
        "user_id": "u1",
    }
    assert mask_secrets(event) == {
        "event": "http_request",
        "headers": {"Authorization": MASK, "Accept": "application/json"},
        "body": [{"refresh_token": MASK, "user": {"password": MASK}}, "plain"],
        "user_id": "u1",
    }
    assert event["headers"]["Authorization"] == "Bearer abc"  # the caller's dict is untouched


def test_json_lines_when_not_a_terminal_with_secrets_masked() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="info", format="auto"), stream=stream)
    log = structlog.get_logger()
    log.info("tokens_saved", user_id="u1", access_token="very-secret", extra={"client_secret": "s"})
    log.debug("not_shown")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "tokens_saved"
    assert record["level"] == "info"
    assert record["access_token"] == MASK
    assert record["extra"] == {"client_secret": MASK}
    assert "very-secret" not in line


def test_console_on_a_terminal() -> None:
    stream = FakeTerminal()
    configure_logging(LoggingSettings(level="debug", format="auto"), stream=stream)
    structlog.get_logger().debug("plan_replanned", vehicle_id="v1", password="pw")
    output = stream.getvalue()
    assert "plan_replanned" in output
    assert "pw" not in output.replace("plan_replanned", "")
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_explicit_format_and_level_win() -> None:
    stream = FakeTerminal()
    configure_logging(LoggingSettings(level="warning", format="json"), stream=stream)
    structlog.get_logger().info("quiet")
    structlog.get_logger().warning("loud", token="t")
    logging.getLogger("alembic").warning("library %s", "message")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["loud", "library message"]
    assert records[0]["token"] == MASK


def test_http_client_request_lines_are_kept_out_even_at_debug() -> None:
    import io
    import logging

    from enode_scheduler.config import LoggingSettings
    from enode_scheduler.logs import configure_logging

    out = io.StringIO()
    configure_logging(LoggingSettings(level="debug", format="json"), stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET https://x/api?securityToken=abc123")
    assert "abc123" not in out.getvalue()
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_json_lines_carry_times_as_iso_8601() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="info", format="json"), stream=stream)
    until = datetime(2025, 10, 24, 22, 0, tzinfo=UTC)
    structlog.get_logger().info("prices_stored", until=until, other=frozenset({1}))
    record = json.loads(stream.getvalue())
    assert record["until"] == "2025-10-24T22:00:00+00:00"
    assert record["other"] == "frozenset({1})"


def test_logging_to_a_stream_for_a_while_leaves_the_earlier_destination_in_place() -> None:
    before = io.StringIO()
    configure_logging(LoggingSettings(format="json"), stream=before)
    with io.StringIO() as while_open, logging_to(LoggingSettings(format="json"), while_open):
        structlog.get_logger().info("inside")
        logging.getLogger("alembic").warning("library line")
        assert "inside" in while_open.getvalue()
        assert "library line" in while_open.getvalue()
    # The stream is closed now: later lines (structlog's and stdlib's) go where they went before.
    structlog.get_logger().info("after")
    logging.getLogger("alembic").warning("library after")
    assert "after" in before.getvalue()
    assert "library after" in before.getvalue()
    assert "inside" not in before.getvalue()
