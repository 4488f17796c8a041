"""Tokens, scopes, problem bodies, size caps and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from structlog.testing import capture_logs

from enode_scheduler.api.app import create_api
from enode_scheduler.records import UserRecord, VehicleReading
from enode_scheduler.testing import InMemoryVehicleStore
from tests.integration.api.conftest import Api
from tests.integration.api.support import (
    BAD,
    READ,
    READ_TOKEN,
    WEBHOOK_SECRET,
    WRITE,
    WRITE_TOKEN,
    api_settings,
    reading,
)

PROBLEM = "application/problem+json"
PLAN = {"target_soc_percent": 50, "repeat": {"days": ["mon"], "at": "07:00"}}
PAUSE = {"action": "pause", "until": "2026-11-29T18:00:00Z"}
ENDPOINTS = [
    ("GET", "/v1/users/user-1/vehicles", "read", None),
    ("GET", "/v1/vehicles/veh-1/plan", "read", None),
    ("GET", "/v1/vehicles/veh-1/schedule", "read", None),
    ("PUT", "/v1/vehicles/veh-1/plan", "write", PLAN),
    ("DELETE", "/v1/vehicles/veh-1/plan", "write", None),
    ("POST", "/v1/vehicles/veh-1/override", "write", PAUSE),
    ("DELETE", "/v1/vehicles/veh-1/override", "write", None),
    ("POST", "/v1/users/user-1/link", "write", None),
    ("DELETE", "/v1/users/user-1", "write", None),
    ("GET", "/v1/sites", "read", None),
    ("GET", "/v1/sites/garage", "read", None),
    ("PUT", "/v1/sites/garage", "write", {"max_kw": 22}),
    ("DELETE", "/v1/sites/garage", "write", None),
    ("PUT", "/v1/sites/garage/locations/user-1/bay-3", "write", None),
    ("DELETE", "/v1/sites/garage/locations/user-1/bay-3", "write", None),
]  # fmt: skip


@pytest.fixture
async def seeded(mem_api: Api) -> Api:
    await mem_api.deps.users.upsert_user(UserRecord(user_id="user-1"))
    await mem_api.deps.vehicles.save_readings([reading("veh-1")])
    return mem_api


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS)
@pytest.mark.parametrize("headers", [{}, BAD, {"Authorization": "Basic dXNlcjpwdw=="}])
async def test_missing_or_wrong_token_is_401(
    seeded: Api, method: str, path: str, scope: str, body: object, headers: dict[str, str]
) -> None:
    r = await seeded.client.request(method, path, json=body, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["title"] == "Unauthorized"
    assert "Traceback" not in r.text


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINTS)
async def test_read_token_cannot_write(
    seeded: Api, method: str, path: str, scope: str, body: object
) -> None:
    r = await seeded.client.request(method, path, json=body, headers=READ)
    if scope == "read":
        assert r.status_code in (200, 404)
    else:
        assert r.status_code == 403
        assert r.headers["content-type"] == PROBLEM
    assert await seeded.deps.users.get_user("user-1") is not None


async def test_every_endpoint_401_and_403_on_every_backend(api: Api) -> None:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1"))
    await api.deps.vehicles.save_readings([reading("veh-1")])
    for method, path, scope, body in ENDPOINTS:
        r = await api.client.request(method, path, json=body, headers=BAD)
        assert r.status_code == 401, (method, path)
        if scope == "write":
            r = await api.client.request(method, path, json=body, headers=READ)
            assert r.status_code == 403, (method, path)
    assert await api.deps.plans.get_plan("veh-1") is None
    assert await api.deps.users.get_user("user-1") is not None


async def test_write_token_may_read(seeded: Api) -> None:
    r = await seeded.client.get("/v1/users/user-1/vehicles", headers=WRITE)
    assert r.status_code == 200


async def test_body_over_cap_is_413(seeded: Api) -> None:
    big = {"target_soc_percent": 50, "timezone": "x" * 70_000}
    r = await seeded.client.put("/v1/vehicles/veh-1/plan", json=big, headers=WRITE)
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert await seeded.deps.plans.get_plan("veh-1") is None


async def test_streamed_body_over_cap_is_413(seeded: Api) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 8192

    r = await seeded.client.put(
        "/v1/vehicles/veh-1/plan",
        content=chunks(),
        headers=WRITE | {"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


async def test_malformed_json_is_422_problem(seeded: Api) -> None:
    r = await seeded.client.put(
        "/v1/vehicles/veh-1/plan",
        content=b"{not json",
        headers=WRITE | {"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM


class _BrokenVehicles(InMemoryVehicleStore):
    """A vehicle store whose reads fail with an error nobody expected."""

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        raise RuntimeError("secret internals")


async def test_unexpected_error_has_no_trace(mem_api: Api) -> None:
    app = create_api(replace(mem_api.deps, vehicles=_BrokenVehicles()), api_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/v1/vehicles/veh-1/schedule", headers=READ)
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text


def _health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_class=PlainTextResponse)
    async def healthz() -> str:
        return "ok"

    return router


def _metrics_router() -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> str:
        return "requests_total 1\n"

    return router


def _app(mem_api: Api, *, metrics_require_token: bool) -> FastAPI:
    return create_api(
        mem_api.deps,
        api_settings(metrics_require_token=metrics_require_token),
        public_routers=[_health_router()],
        metrics_router=_metrics_router(),
    )


@pytest.mark.parametrize("require", [False, True])
async def test_health_open_metrics_configurable(mem_api: Api, require: bool) -> None:
    transport = httpx.ASGITransport(app=_app(mem_api, metrics_require_token=require))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == (401 if require else 200)
        assert (await client.get("/metrics", headers=READ)).status_code == 200
        # No webhook secret given: the route does not exist.
        assert (await client.post("/webhooks/enode", content=b"[]")).status_code == 404


async def test_openapi_document_served_without_token(mem_api: Api) -> None:
    r = await mem_api.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert "/v1/vehicles/{vehicle_id}/plan" in doc["paths"]
    assert "/webhooks/enode" in doc["paths"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    put = doc["paths"]["/v1/vehicles/{vehicle_id}/plan"]["put"]
    assert "application/problem+json" in put["responses"]["422"]["content"]


async def test_tokens_and_secrets_never_reach_the_log(seeded: Api) -> None:
    with capture_logs() as logs:
        await seeded.client.get("/v1/users/user-1/vehicles", headers=BAD)
        await seeded.client.put("/v1/vehicles/veh-1/plan", json=PLAN, headers=READ)
        await seeded.client.put("/v1/vehicles/veh-1/plan", json=PLAN, headers=WRITE)
        await seeded.client.post(
            "/webhooks/enode", content=b"[]", headers={"X-Enode-Signature": "x"}
        )
    text = repr(logs)
    assert logs  # the bad signature at least is logged
    for secret in (READ_TOKEN, WRITE_TOKEN, WEBHOOK_SECRET, "not-a-configured-token"):
        assert secret not in text
