"""Live events over a WebSocket (API key): delivery, tenant isolation, resume, refusals."""

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member


def ws_url(server: Server, **query: int) -> str:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return url


async def api_key(tenant: Tenant) -> str:
    response = await tenant.client.post("/api/v1/api-keys", json={"name": "ws"})
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


async def frames(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    async def take() -> list[dict[str, Any]]:
        return [json.loads(await socket.recv()) for _ in range(count)]

    return await asyncio.wait_for(take(), timeout=10)


async def flip_role(tenant: Tenant, user_id: int, role: str) -> None:
    response = await tenant.client.patch(f"/api/v1/members/{user_id}", json={"role": role})
    assert response.status_code == 204, response.text


async def test_events_arrive_as_json_frames(server: Server, tenant: Tenant) -> None:
    key = await api_key(tenant)
    async with connect(ws_url(server), additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        (hello,) = await frames(ws, 1)
        assert hello["type"] == "hello"
        _client, user_id = await add_member(tenant, server.base_url, "operator")
        (event,) = await frames(ws, 1)
    assert event["type"] == "member.joined"
    assert event["data"]["user_id"] == user_id
    assert event["seq"] > hello["seq"]


async def test_a_socket_sees_only_its_organisation(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    key = await api_key(other_tenant)
    async with connect(ws_url(server), additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await frames(ws, 1)
        await add_member(tenant, server.base_url, "operator")
        _c, own = await add_member(other_tenant, server.base_url, "admin")
        (event,) = await frames(ws, 1)
    assert event["data"]["user_id"] == own


async def test_resume_with_last_event_id_misses_nothing(server: Server, tenant: Tenant) -> None:
    key = await api_key(tenant)
    auth = {"Authorization": f"Bearer {key}"}
    _client, user_id = await add_member(tenant, server.base_url, "operator")
    async with connect(ws_url(server), additional_headers=auth) as ws:
        (hello,) = await frames(ws, 1)
    # Disconnected: these happen while nobody listens.
    await flip_role(tenant, user_id, "admin")
    await flip_role(tenant, user_id, "operator")
    async with connect(ws_url(server, last_event_id=hello["seq"]), additional_headers=auth) as ws:
        hello_again, first, second = await frames(ws, 3)
    assert hello_again["type"] == "hello"
    assert [first["data"]["role"], second["data"]["role"]] == ["admin", "operator"]
    assert second["seq"] == first["seq"] + 1


async def test_a_socket_without_a_key_or_with_a_bad_one_is_refused(
    server: Server, tenant: Tenant
) -> None:
    # The browser's session cookie is not enough: WebSockets are for API keys.
    cookie = "; ".join(f"{name}={value}" for name, value in tenant.client.cookies.items())
    for headers in ({"Cookie": cookie}, {"Authorization": "Bearer atd_not-a-key"}):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(server), additional_headers=headers):
                pass
        assert refused.value.response.status_code == 401
        body = json.loads(refused.value.response.body or b"{}")
        assert body["status"] == 401


async def test_a_malformed_resume_point_is_refused(server: Server, tenant: Tenant) -> None:
    key = await api_key(tenant)
    url = ws_url(server).replace("/ws", "/ws?last_event_id=abc")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}):
            pass
    assert refused.value.response.status_code == 422
