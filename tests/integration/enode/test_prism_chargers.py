"""Stoplight Prism, as a validating proxy in front of the sim, passes every charger request the
client makes (`prism proxy <corrected spec> <sim> --errors` answers any violation with an error).

Needs `@stoplight/prism-cli` in the npm cache (fetch it once with
`npx -y @stoplight/prism-cli --version`); skipped otherwise: the suite never reaches the registry.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from enode_scheduler.enode import EnodeClient
from enode_scheduler.records import ChargeAction
from enode_scheduler.sim import RunningSim
from tests.integration.enode.conftest import ClockDriver, vehicles_of

pytestmark = pytest.mark.e2e

SPEC = Path(__file__).resolve().parents[3] / "data" / "enode" / "openapi-enode-v1.4.corrected.json"
# --offline: the npm cache only; a test never reaches the registry.
PRISM = ["npx", "--offline", "-y", "@stoplight/prism-cli"]
MakeClient = Callable[..., contextlib.AbstractAsyncContextManager[EnodeClient]]


def _prism_available() -> bool:
    if shutil.which("npx") is None:
        return False
    try:
        done = subprocess.run([*PRISM, "--version"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def prism(sim: RunningSim) -> Iterator[str]:
    if not _prism_available():
        pytest.skip("Prism is not in the npm cache: run `npx -y @stoplight/prism-cli --version`")
    port = _free_port()
    args = [*PRISM, "proxy", str(SPEC), sim.api_url, "--errors", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.2)
        else:
            proc.kill()
            pytest.fail("Prism did not start listening within 60 s")
        yield f"http://127.0.0.1:{port}"
        proc.terminate()
        proc.wait(timeout=10)


async def test_every_charger_request_passes_prism(
    prism: str, make_client: MakeClient, sim: RunningSim, driver: ClockDriver
) -> None:
    car_id = vehicles_of(sim, "alice")[0]
    sim.state.unplug(car_id)
    box = sim.state.add_charger("alice", vendor="EASEE")
    sim.state.plug_charger(box.id, car_id)
    async with make_client(api_url=prism, read_timeout_s=20.0) as client:
        listed = await client.list_chargers("alice")
        assert [r.charger_id for r in listed] == [box.id]
        await client.set_charger_charging("alice", box.id, ChargeAction.STOP)
        await driver.clock.advance(1.0)
        assert (await client.get_charger("alice", box.id)).is_charging is False
        await client.set_charger_charging("alice", box.id, ChargeAction.START)
        await driver.clock.advance(1.0)
        assert (await client.get_charger("alice", box.id)).is_charging is True
        both = await client.chargers("alice", fields=("chargeState", "location"))
        assert both[0].charge_state is not None
    # Every call went through Prism to the sim and was answered there.
    seen = sim.state.requests(path_prefix="/chargers")
    assert len(seen) == 6
    assert all(e.status < 300 for e in seen)
    # Prism does validate (bodies; it does not check the enum of a `field[]` query): a body
    # outside the spec is refused before it reaches the sim.
    token = sim.state.issue_user_token("alice").access_token
    async with httpx.AsyncClient(base_url=prism, timeout=20) as raw:
        refused = await raw.post(
            f"/chargers/{box.id}/charging",
            json={"action": "GO"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert refused.status_code == 422
    assert len(sim.state.requests(path_prefix="/chargers")) == 6
