"""Firehose deliveries: signed, only changed fields, sent when cars change or commands land."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim
from tests.integration.enode_spec import EnodeSpec, spec_hooks
from tests.integration.sim.helpers import vehicle_of

SECRET = "0123456789abcdef0123456789abcdef"


@dataclass
class Receiver:
    """A bare HTTP/1.1 endpoint on loopback that keeps what is POSTed to it."""

    url: str = ""
    received: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")[1:]
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        await self.received.put((headers, body))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def next(self) -> tuple[dict[str, str], list[dict[str, object]]]:
        headers, body = await asyncio.wait_for(self.received.get(), timeout=5)
        expected = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        assert hmac.compare_digest(headers["x-enode-signature"], expected)
        assert headers["x-enode-delivery"]
        events: list[dict[str, object]] = json.loads(body)
        return headers, events


@pytest.fixture
async def receiver(enode_spec: EnodeSpec, sim: RunningSim) -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/webhooks/enode"
    client_token = sim.state.auth.issue_client(now=sim.state.now()).access_token
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec),
        base_url=sim.api_url,
        headers={"Authorization": f"Bearer {client_token}"},
    ) as http:
        put = await http.put("/webhooks/firehose", json={"url": found.url, "secret": SECRET})
        assert put.status_code == 204
    yield found
    server.close()


async def test_plugging_in_sends_a_signed_update_then_only_changes(
    sim: RunningSim, receiver: Receiver
) -> None:
    car = vehicle_of(sim)
    sim.state.unplug(car.id)
    _, first = await receiver.next()
    assert first[0]["event"] == "user:vehicle:updated"
    assert first[0]["user"] == {"id": "user-1"}
    vehicle = first[0]["vehicle"]
    assert isinstance(vehicle, dict)
    assert vehicle["id"] == car.id
    assert vehicle["chargeState"]["isPluggedIn"] is False
    assert "information" in vehicle
    sim.state.plug(car.id)
    _, second = await receiver.next()
    delta = second[0]["vehicle"]
    assert isinstance(delta, dict)
    assert "information" not in delta
    assert delta["chargeState"]["isPluggedIn"] is True


async def test_a_command_is_reported_when_it_lands(
    sim: RunningSim, sim_clock: FakeClock, receiver: Receiver, sim_http: httpx.AsyncClient
) -> None:
    car = vehicle_of(sim)
    sim.state.set_command_delay(30)
    sim.state.plug(car.id)
    sim.state.set_soc(car.id, 40)
    sim.state.set_charge_limit(car.id, 90)
    for _ in range(3):  # plug, SoC, limit
        await receiver.next()
    await sim_http.post(f"/vehicles/{car.id}/charging", json={"action": "STOP"})
    await sim_clock.advance(30)
    _, events = await receiver.next()
    state = events[0]["vehicle"]["chargeState"]  # type: ignore[index]
    assert state["isCharging"] is False
    assert state["isChargingReasons"] == ["MANUALLY_STOPPED"]
    assert events[0]["createdAt"] == "2026-01-05T18:00:30Z"


async def test_the_test_endpoint_and_a_dead_receiver(
    enode_spec: EnodeSpec, sim: RunningSim, receiver: Receiver
) -> None:
    client_token = sim.state.auth.issue_client(now=sim.state.now()).access_token
    async with httpx.AsyncClient(
        event_hooks=spec_hooks(enode_spec),
        base_url=sim.api_url,
        headers={"Authorization": f"Bearer {client_token}"},
    ) as http:
        answer = await http.post("/webhooks/firehose/test")
        _, events = await receiver.next()
        assert events[0]["event"] == "enode:firehose:test"
        assert "204" in answer.json()
        await http.put(
            "/webhooks/firehose", json={"url": "http://127.0.0.1:9/nothing", "secret": SECRET}
        )
        delivery = await sim.state.deliver_webhook(vehicle_of(sim).id)
    assert delivery is not None
    assert delivery.status is None
    assert delivery.error is not None
    async with httpx.AsyncClient(base_url=sim.control_url) as control:
        log = (await control.get("/webhooks")).json()
    assert log["config"]["url"] == "http://127.0.0.1:9/nothing"
    assert [d["status"] for d in log["deliveries"]] == [204, None]
