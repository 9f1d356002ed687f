"""Live events over SSE: delivery, tenant isolation, resume after reconnect with none missed."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.server import Server
from tests.support.sse import SseEvent, iter_events
from tests.support.tenants import Tenant, add_member


async def next_events(stream: AsyncIterator[SseEvent], count: int) -> list[SseEvent]:
    async def take() -> list[SseEvent]:
        return [await anext(stream) for _ in range(count)]

    return await asyncio.wait_for(take(), timeout=10)


async def flip_role(tenant: Tenant, user_id: int, role: str) -> None:
    response = await tenant.client.patch(f"/api/v1/members/{user_id}", json={"role": role})
    assert response.status_code == 204, response.text


async def test_event_is_delivered_live(server: Server, tenant: Tenant) -> None:
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        events = iter_events(response)
        _client, user_id = await add_member(tenant, server.base_url, "operator")
        (event,) = await next_events(events, 1)
    assert event.event == "member.joined"
    body = event.json
    assert body["type"] == "member.joined"
    assert body["data"]["user_id"] == user_id
    assert body["data"]["role"] == "operator"
    assert event.id == str(body["seq"])


async def test_events_stay_within_their_organisation(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with other_tenant.client.stream("GET", "/api/v1/events") as other_stream:
        other_events = iter_events(other_stream)
        _client, user_id = await add_member(tenant, server.base_url, "operator")
        # Something in the other organisation afterwards: it must be the first thing it sees.
        _c2, other_user = await add_member(other_tenant, server.base_url, "admin")
        (seen,) = await next_events(other_events, 1)
    assert seen.json["data"]["user_id"] == other_user
    assert seen.json["data"]["user_id"] != user_id


async def test_resume_after_reconnect_misses_nothing(server: Server, tenant: Tenant) -> None:
    _client, user_id = await add_member(tenant, server.base_url, "operator")
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        await flip_role(tenant, user_id, "admin")
        (first,) = await next_events(events, 1)
    # Disconnected: five changes happen meanwhile.
    roles = ["operator", "admin", "operator", "admin", "operator"]
    for role in roles:
        await flip_role(tenant, user_id, role)
    headers = {"Last-Event-ID": first.id or ""}
    async with tenant.client.stream("GET", "/api/v1/events", headers=headers) as response:
        events = iter_events(response)
        missed = await next_events(events, len(roles))
        await flip_role(tenant, user_id, "admin")
        (live,) = await next_events(events, 1)
    seqs = [int(e.id or 0) for e in [first, *missed, live]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [e.json["data"]["role"] for e in missed] == roles
    assert live.json["data"]["role"] == "admin"


async def test_resume_from_query_parameter(server: Server, tenant: Tenant) -> None:
    _client, user_id = await add_member(tenant, server.base_url, "operator")
    await flip_role(tenant, user_id, "admin")
    async with tenant.client.stream("GET", "/api/v1/events?last_event_id=0") as response:
        events = iter_events(response)
        replay = await next_events(events, 3)  # owner joined, operator joined, role change
    assert [e.event for e in replay] == ["member.joined", "member.joined", "member.updated"]
    assert [int(e.id or 0) for e in replay] == [1, 2, 3]


async def test_api_key_receives_events(server: Server, tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/api-keys", json={"name": "events"})
    key = created.json()["key"]
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as api,
        api.stream("GET", "/api/v1/events", headers={"Authorization": f"Bearer {key}"}) as response,
    ):
        assert response.status_code == 200
        events = iter_events(response)
        _client, user_id = await add_member(tenant, server.base_url, "operator")
        (event,) = await next_events(events, 1)
    assert event.json["data"]["user_id"] == user_id


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer atk_not-a-key"}, 401),
        ({"Cookie": "atende_session=forged"}, 401),
    ],
)
async def test_stream_refuses_strangers(
    server: Server, headers: dict[str, str], status: int
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get("/api/v1/events", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_last_event_id_is_a_clear_error(tenant: Tenant) -> None:
    response = await tenant.client.get("/api/v1/events", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 422
    assert response.json()["field"] == "last_event_id"
