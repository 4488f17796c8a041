"""`enode-scheduler healthcheck` against a real HTTP server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.commands.ops import LISTEN_ENV, health_url


class _Health:
    """A tiny /healthz server whose answer the test sets."""

    def __init__(self) -> None:
        self.status = 200
        self.paths: list[str] = []
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                health.paths.append(self.path)
                self.send_response(health.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/healthz"


@pytest.fixture
def health() -> Iterator[_Health]:
    server = _Health()
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _no_listen_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LISTEN_ENV, raising=False)
    monkeypatch.delenv("ENODE_SCHEDULER_CONFIG", raising=False)


def _run(*args: str) -> int:
    return CliRunner().invoke(app, list(args)).exit_code


def test_200_is_healthy(health: _Health) -> None:
    assert _run("healthcheck", "--url", health.url) == 0
    assert health.paths == ["/healthz"]


def test_healthy_prints_ok(health: _Health) -> None:
    result = CliRunner().invoke(app, ["healthcheck", "--url", health.url])
    assert (result.exit_code, result.stdout) == (0, "ok\n")


def test_503_is_unhealthy(health: _Health) -> None:
    health.status = 503
    result = CliRunner().invoke(app, ["healthcheck", "--url", health.url])
    assert result.exit_code == 1
    assert "HTTP 503" in result.stderr


def test_nothing_listening_is_unhealthy() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert _run("healthcheck", "--url", f"http://127.0.0.1:{port}/healthz") == 1


def test_a_daemon_that_does_not_answer_in_time_is_unhealthy() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # accepts the connection, never answers
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/healthz"
        assert _run("healthcheck", "--url", url, "--timeout-s", "0.2") == 1


def test_default_url_comes_from_api_listen_in_the_config(health: _Health, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nlisten = "0.0.0.0:{health.port}"\n', encoding="utf-8")
    assert _run("--config", str(config), "healthcheck") == 0
    health.status = 500
    assert _run("--config", str(config), "healthcheck") == 1


def test_listen_env_override_wins_over_the_file(
    health: _Health, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[api]\nlisten = "127.0.0.1:1"\n', encoding="utf-8")
    monkeypatch.setenv(LISTEN_ENV, f"127.0.0.1:{health.port}")
    assert _run("--config", str(config), "healthcheck") == 0


@pytest.mark.parametrize(
    ("listen", "url"),
    [
        (None, "http://127.0.0.1:8080/healthz"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000/healthz"),
        ("[::]:9000", "http://[::1]:9000/healthz"),
        ("[::1]:9000", "http://[::1]:9000/healthz"),
        ("10.1.2.3:80", "http://10.1.2.3:80/healthz"),
    ],
)
def test_health_url_from_listen(listen: str | None, url: str) -> None:
    assert health_url(listen) == url


@pytest.mark.parametrize(
    "args",
    [
        ["healthcheck", "--url", "ftp://127.0.0.1/healthz"],
        ["--config", "{bad_listen}", "healthcheck"],
        ["--config", "{missing}", "healthcheck"],
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    bad_listen = tmp_path / "bad.toml"
    bad_listen.write_text('[api]\nlisten = "no-port"\n', encoding="utf-8")
    paths = {"bad_listen": str(bad_listen), "missing": str(tmp_path / "missing.toml")}
    result = CliRunner().invoke(app, [arg.format(**paths) for arg in args])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
