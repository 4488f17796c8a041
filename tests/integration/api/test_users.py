"""Link, OAuth callback and unlink through the API, over the in-memory link flow."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from enode_scheduler.records import UserRecord
from tests.integration.api.conftest import Api
from tests.integration.api.support import WRITE, reading


async def _start(api: Api, user_id: str = "user-1") -> str:
    r = await api.client.post(f"/v1/users/{user_id}/link", headers=WRITE)
    assert r.status_code == 200, r.text
    return parse_qs(urlsplit(r.json()["authorize_url"]).query)["state"][0]


async def test_link_creates_user_and_returns_authorize_url(api: Api) -> None:
    state = await _start(api)
    assert state
    user = await api.deps.users.get_user("user-1")
    assert user is not None
    assert user.linked is False


async def test_callback_links_the_user_once(api: Api) -> None:
    state = await _start(api)
    r = await api.client.get("/oauth/callback", params={"state": state, "code": "c"})
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    user = await api.deps.users.get_user("user-1")
    assert user is not None
    assert user.linked is True
    replay = await api.client.get("/oauth/callback", params={"state": state, "code": "c"})
    assert replay.status_code == 400
    assert "Linking failed" in replay.text


async def test_callback_access_denied(api: Api) -> None:
    state = await _start(api)
    r = await api.client.get(
        "/oauth/callback",
        params={"state": state, "error": "access_denied", "error_description": "<b>no</b>"},
    )
    assert r.status_code == 400
    assert "access_denied" in r.text
    assert "<b>" not in r.text
    user = await api.deps.users.get_user("user-1")
    assert user is not None
    assert user.linked is False


async def test_callback_without_state(api: Api) -> None:
    r = await api.client.get("/oauth/callback", params={"code": "c"})
    assert r.status_code == 400


async def test_callback_expired_state(api: Api) -> None:
    state = await _start(api)
    await api.clock.advance(601)
    r = await api.client.get("/oauth/callback", params={"state": state, "code": "c"})
    assert r.status_code == 400
    assert "expired" in r.text


async def test_unlink_deauthorizes_and_deletes(api: Api) -> None:
    await api.deps.users.upsert_user(UserRecord(user_id="user-1", linked=True))
    await api.deps.vehicles.save_readings([reading("veh-1")])
    r = await api.client.delete("/v1/users/user-1", headers=WRITE)
    assert r.status_code == 204
    assert api.link.deauthorized == ["user-1"]
    assert await api.deps.users.get_user("user-1") is None


async def test_unlink_unknown_user_404(api: Api) -> None:
    r = await api.client.delete("/v1/users/ghost", headers=WRITE)
    assert r.status_code == 404
    assert api.link.deauthorized == []


async def test_link_bad_user_id_422(api: Api) -> None:
    r = await api.client.post("/v1/users/" + "x" * 200 + "/link", headers=WRITE)
    assert r.status_code == 422
    assert await api.deps.users.list_users() == []
