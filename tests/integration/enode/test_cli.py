"""`link`, `vehicles` and `charge` as real processes against a sim process and a SQLite file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
ENTRY = "from enode_scheduler.cli import main; main()"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENODE_SCHEDULER")}
    env["PYTHONPATH"] = str(REPO)
    return env


def _cli(*args: str, config: Path) -> list[str]:
    return [sys.executable, "-c", ENTRY, "--config", str(config), *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim_info() -> Iterator[dict[str, Any]]:
    args = [
        sys.executable,
        "-c",
        ENTRY,
        "sim",
        "--port",
        "0",
        "--vehicles",
        "2",
        "--users",
        "1",
        "--command-delay",
        "0",
    ]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=_env()) as proc:
        assert proc.stdout is not None
        info: dict[str, Any] = json.loads(proc.stdout.readline())
        yield info
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def config(tmp_path: Path, sim_info: dict[str, Any]) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
state_dir = "{tmp_path / "state"}"
[enode]
client_id = "{sim_info["client_id"]}"
client_secret = "{sim_info["client_secret"]}"
api_url = "{sim_info["api_url"]}"
token_url = "{sim_info["token_url"]}"
authorize_url = "{sim_info["authorize_url"]}"
redirect_uri = "http://127.0.0.1:{_free_port()}/oauth/callback"
[database]
auto_migrate = true
""",
        encoding="utf-8",
    )
    return path


def _link(config: Path, user_id: str) -> tuple[subprocess.CompletedProcess[str], httpx.Response]:
    args = _cli("link", user_id, "--timeout-s", "30", config=config)
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    ) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http"), url
        # The browser: Link UI redirects to our listener, which answers the page.
        page = httpx.get(url, follow_redirects=True, timeout=20)
        out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(args, proc.returncode, url + "\n" + out, err), page


def test_link_then_vehicles_then_charge(config: Path, sim_info: dict[str, Any]) -> None:
    done, page = _link(config, "user-1")
    assert done.returncode == 0, done.stderr
    assert page.status_code == 200
    assert "Linked user-1" in page.text
    assert done.stdout.strip().splitlines()[0].startswith(sim_info["authorize_url"])
    assert "linked user-1" in done.stderr

    listed = subprocess.run(
        _cli("vehicles", "--json", config=config),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    cars = json.loads(listed.stdout)
    assert len(cars) == 2
    assert {c["user_id"] for c in cars} == {"user-1"}

    table = subprocess.run(
        _cli("vehicles", "--user", "user-1", config=config),
        capture_output=True,
        text=True,
        env={**_env(), "COLUMNS": "250"},
        check=False,
    )
    assert table.returncode == 0
    assert cars[0]["vehicle_id"] in table.stdout

    vehicle_id = cars[0]["vehicle_id"]
    started = subprocess.run(
        _cli("charge", "start", vehicle_id, "--user", "user-1", config=config),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert started.returncode == 0, started.stderr
    log = httpx.get(sim_info["control_url"] + "/log", params={"path_prefix": "/vehicles"}).json()
    posts = [e for e in log if e["method"] == "POST" and e["path"].endswith("/charging")]
    assert [(p["path"], p["request_body"]) for p in posts] == [
        (f"/vehicles/{vehicle_id}/charging", '{"action":"START"}')
    ]


def test_link_refused_exits_nonzero(config: Path, sim_info: dict[str, Any]) -> None:
    httpx.put(sim_info["control_url"] + "/users/erin/link-denial", json={}).raise_for_status()
    done, page = _link(config, "erin")
    assert done.returncode == 1
    assert "access_denied" in done.stderr
    assert page.status_code == 400
    assert "Traceback" not in done.stderr


def test_vehicles_of_unlinked_user_says_so(config: Path) -> None:
    result = subprocess.run(
        _cli("vehicles", "--user", "nobody", config=config),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert result.returncode == 1
    assert "nobody" in result.stderr
    assert "link again" in result.stderr
    assert "Traceback" not in result.stderr


def test_link_needs_an_http_redirect_uri(tmp_path: Path, config: Path) -> None:
    text = config.read_text(encoding="utf-8").replace(
        'redirect_uri = "http://', 'redirect_uri = "https://'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    result = subprocess.run(
        _cli("link", "user-1", config=bad),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert "redirect_uri" in result.stderr
    assert "Traceback" not in result.stderr


def test_chargers_then_charge_through_a_charger(config: Path, sim_info: dict[str, Any]) -> None:
    control = sim_info["control_url"]
    box = httpx.post(control + "/chargers", json={"user_id": "user-1", "vendor": "EASEE"}).json()
    done, _ = _link(config, "user-1")
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        _cli("chargers", "--json", "--user", "user-1", config=config),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    found = {c["charger_id"]: c for c in json.loads(listed.stdout)}
    assert found[box["id"]]["vendor"] == "EASEE"
    assert found[box["id"]]["is_plugged_in"] is False
    table = subprocess.run(
        _cli("chargers", config=config),
        capture_output=True,
        text=True,
        env={**_env(), "COLUMNS": "250"},
        check=False,
    )
    assert table.returncode == 0
    assert box["id"] in table.stdout
    stopped = subprocess.run(
        _cli("charge", "stop", "--charger", box["id"], "--user", "user-1", config=config),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert stopped.returncode == 0, stopped.stderr
    log = httpx.get(control + "/log", params={"path_prefix": "/chargers"}).json()
    posts = [(e["path"], e["request_body"]) for e in log if e["method"] == "POST"]
    assert posts == [(f"/chargers/{box['id']}/charging", '{"action":"STOP"}')]
    both = subprocess.run(
        _cli("charge", "stop", "car", "--charger", box["id"], "--user", "user-1", config=config),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert both.returncode == 2
    assert "exactly one of" in both.stderr


def test_charge_start_on_an_unplugged_car_says_so_and_sends_nothing(
    config: Path, sim_info: dict[str, Any]
) -> None:
    control = sim_info["control_url"]
    httpx.post(control + "/vehicles", json={"user_id": "user-2", "id": "unplugged-1"})
    done, _ = _link(config, "user-2")
    assert done.returncode == 0, done.stderr
    started = subprocess.run(
        _cli("charge", "start", "unplugged-1", "--user", "user-2", config=config),
        capture_output=True, text=True, env=_env(), check=False,
    )  # fmt: skip
    assert started.returncode == 2
    assert started.stderr.strip() == "error: unplugged-1 is not plugged in: plug it in, then start"
    log = httpx.get(control + "/log", params={"path_prefix": "/vehicles/unplugged-1"}).json()
    assert not [e for e in log if e["method"] == "POST"]


def test_link_next_to_a_running_daemon_api_points_at_the_api(tmp_path: Path) -> None:
    """The port of enode.redirect_uri is taken by the daemon's API: no "address in use"."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    port = server.server_address[1]
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path}"\n[enode]\nclient_id = "c"\nclient_secret = "s"\n'
        f'redirect_uri = "http://127.0.0.1:{port}/oauth/callback"\n[api]\n'
        f'listen = "127.0.0.1:{port}"\n'
    )
    try:
        done = subprocess.run(
            _cli("link", "alice", config=path), capture_output=True, text=True, env=_env(),
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 2
    assert "already in use" not in done.stderr
    assert f"http://127.0.0.1:{port}/v1/users/alice/link" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
