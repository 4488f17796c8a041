"""Sites through the HTTP API: the cap, the charging locations, problems for bad requests."""

from __future__ import annotations

import pytest

from enode_scheduler.records import SiteLocation, UserRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import NOW, READ, WRITE

PROBLEM = "application/problem+json"
BAY_3 = "/v1/sites/garage/locations/user-1/bay-3"


async def _seed(api: Api) -> Api:
    for user_id in ("user-1", "user-2"):
        await api.deps.users.upsert_user(UserRecord(user_id=user_id))
    return api


@pytest.fixture
async def seeded(api: Api) -> Api:
    """Every backend."""
    return await _seed(api)


@pytest.fixture
async def mem_seeded(mem_api: Api) -> Api:
    """In-memory only: for request validation, which storage does not affect."""
    return await _seed(mem_api)


async def test_put_creates_then_changes_the_cap(seeded: Api) -> None:
    r = await seeded.client.put("/v1/sites/garage", json={"max_kw": 22}, headers=WRITE)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "name": "garage",
        "max_kw": 22.0,
        "locations": [],
        "created_at": NOW.isoformat().replace("+00:00", "Z"),
        "updated_at": NOW.isoformat().replace("+00:00", "Z"),
    }
    await seeded.clock.advance(60)
    r = await seeded.client.put("/v1/sites/garage", json={"max_kw": 11.5}, headers=WRITE)
    assert r.status_code == 200, r.text
    assert r.json()["max_kw"] == 11.5
    assert r.json()["updated_at"] > r.json()["created_at"]
    got = await seeded.client.get("/v1/sites/garage", headers=READ)
    assert got.status_code == 200
    assert got.json() == r.json()
    stored = await seeded.deps.sites.get_site("garage")
    assert stored is not None
    assert stored.max_kw == 11.5


async def test_locations_attach_list_detach(seeded: Api) -> None:
    await seeded.client.put("/v1/sites/garage", json={"max_kw": 22}, headers=WRITE)
    await seeded.client.put("/v1/sites/house", json={"max_kw": 7.4}, headers=WRITE)
    r = await seeded.client.put("/v1/sites/garage/locations/user-2/bay-7", headers=WRITE)
    assert r.status_code == 200, r.text
    r = await seeded.client.put(BAY_3, headers=WRITE)
    assert r.json()["locations"] == [
        {"user_id": "user-1", "location_id": "bay-3"},
        {"user_id": "user-2", "location_id": "bay-7"},
    ]
    assert (await seeded.client.put(BAY_3, headers=WRITE)).status_code == 200  # idempotent
    listed = await seeded.client.get("/v1/sites", headers=READ)
    assert listed.status_code == 200
    assert [(s["name"], len(s["locations"])) for s in listed.json()["sites"]] == [
        ("garage", 2),
        ("house", 0),
    ]
    r = await seeded.client.delete(BAY_3, headers=WRITE)
    assert r.status_code == 204
    site = await seeded.deps.sites.get_site("garage")
    assert site is not None
    assert site.locations == (SiteLocation("user-2", "bay-7"),)
    r = await seeded.client.delete(BAY_3, headers=WRITE)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert "not in site 'garage'" in r.json()["detail"]


async def test_location_in_another_site_is_409(seeded: Api) -> None:
    await seeded.client.put("/v1/sites/garage", json={"max_kw": 22}, headers=WRITE)
    await seeded.client.put("/v1/sites/house", json={"max_kw": 7.4}, headers=WRITE)
    await seeded.client.put(BAY_3, headers=WRITE)
    r = await seeded.client.put("/v1/sites/house/locations/user-1/bay-3", headers=WRITE)
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert "already in site 'garage'" in r.json()["detail"]
    house = await seeded.deps.sites.get_site("house")
    assert house is not None
    assert house.locations == ()


async def test_delete_site_frees_its_locations(seeded: Api) -> None:
    await seeded.client.put("/v1/sites/garage", json={"max_kw": 22}, headers=WRITE)
    await seeded.client.put(BAY_3, headers=WRITE)
    assert (await seeded.client.delete("/v1/sites/garage", headers=WRITE)).status_code == 204
    assert (await seeded.client.get("/v1/sites/garage", headers=READ)).status_code == 404
    assert (await seeded.client.delete("/v1/sites/garage", headers=WRITE)).status_code == 404
    await seeded.client.put("/v1/sites/house", json={"max_kw": 7.4}, headers=WRITE)
    r = await seeded.client.put("/v1/sites/house/locations/user-1/bay-3", headers=WRITE)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        pytest.param("GET", "/v1/sites/nowhere", "No site 'nowhere'", id="get"),
        pytest.param("DELETE", "/v1/sites/nowhere", "No site 'nowhere'", id="delete"),
        pytest.param(
            "PUT", "/v1/sites/nowhere/locations/user-1/x", "site 'nowhere'", id="attach-site"
        ),
        pytest.param(
            "DELETE", "/v1/sites/nowhere/locations/user-1/x", "site 'nowhere'", id="detach-site"
        ),
        pytest.param("PUT", "/v1/sites/garage/locations/ghost/x", "user 'ghost'", id="attach-user"),
    ],
)
async def test_unknown_site_or_user_is_404_problem(
    seeded: Api, method: str, path: str, detail: str
) -> None:
    await seeded.client.put("/v1/sites/garage", json={"max_kw": 22}, headers=WRITE)
    r = await seeded.client.request(method, path, headers=WRITE)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert detail in r.json()["detail"]
    assert await seeded.deps.users.get_user("ghost") is None


@pytest.mark.parametrize(
    "body",
    [
        {"max_kw": 0},
        {"max_kw": -1},
        {"max_kw": "lots"},
        {},
        {"max_kw": 11, "extra": True},
    ],
)
async def test_bad_cap_is_422_problem(mem_seeded: Api, body: dict[str, object]) -> None:
    r = await mem_seeded.client.put("/v1/sites/garage", json=body, headers=WRITE)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["detail"].startswith("body")
    assert await mem_seeded.deps.sites.list_sites() == []


async def test_non_finite_cap_is_422(mem_seeded: Api) -> None:
    r = await mem_seeded.client.put(
        "/v1/sites/garage",
        content=b'{"max_kw": Infinity}',
        headers={**WRITE, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert await mem_seeded.deps.sites.list_sites() == []


@pytest.mark.parametrize(
    "path", ["/v1/sites/my%20garage", "/v1/sites/-x", "/v1/sites/..%2Fetc", "/v1/sites/" + "a" * 65]
)
async def test_bad_site_names_are_refused(mem_seeded: Api, path: str) -> None:
    r = await mem_seeded.client.put(path, json={"max_kw": 11}, headers=WRITE)
    assert r.status_code in (404, 422)
    assert r.headers["content-type"] == PROBLEM
    assert await mem_seeded.deps.sites.list_sites() == []
