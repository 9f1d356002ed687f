"""Sending a failed message again: only a failed outbound message, only once however many
clicks race, through the same sender job (queued, then ticks)."""

import asyncio

from sqlalchemy import select

from atende.core.jobs import JobRecord
from tests.support.crossorg_resources import fail_message
from tests.support.direct_db import direct_session
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_inbox_api import conversation_with_customer


async def status_of(tenant: Tenant, conversation_id: int, message_id: int) -> str:
    history = await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    return str(next(m["status"] for m in history.json()["items"] if m["id"] == message_id))


async def until_sent(tenant: Tenant, conversation_id: int, message_id: int) -> str:
    for _ in range(100):
        status = await status_of(tenant, conversation_id, message_id)
        if status not in ("queued", "sending"):
            return status
        await asyncio.sleep(0.05)
    return status


async def test_a_failed_message_is_sent_again_once(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    base = f"/api/v1/conversations/{conversation_id}"
    sent = await tenant.client.post(f"{base}/messages", json={"text": "Seu pedido saiu"})
    message_id = sent.json()["id"]
    await fail_message(server.database_url, tenant, conversation_id, message_id)

    url = f"{base}/messages/{message_id}/retry"
    first, second = await asyncio.gather(tenant.client.post(url), tenant.client.post(url))
    assert sorted([first.status_code, second.status_code]) == [202, 409], (first, second)
    accepted = first if first.status_code == 202 else second
    assert accepted.json()["status"] == "queued"
    assert accepted.json()["error"] is None
    assert await until_sent(tenant, conversation_id, message_id) == "sent"
    # One send job per attempt (each sends at most once): the first, and one retry.
    async with direct_session(server.database_url) as session:
        keys = await session.scalars(
            select(JobRecord.key).where(JobRecord.key.like(f"send:message:{message_id}%"))
        )
        assert sorted(keys) == [f"send:message:{message_id}", f"send:message:{message_id}:retry:1"]

    # Sent now: not failed, so nothing to retry.
    again = await tenant.client.post(url)
    assert again.status_code == 409
    assert again.json()["field"] == "status"


async def test_only_failed_outbound_messages_can_be_retried(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    base = f"/api/v1/conversations/{conversation_id}"
    history = (await tenant.client.get(f"{base}/messages")).json()["items"]
    inbound = history[0]["id"]
    refused = await tenant.client.post(f"{base}/messages/{inbound}/retry")
    assert refused.status_code == 409
    assert refused.json()["field"] == "direction"
    missing = await tenant.client.post(f"{base}/messages/999999999/retry")
    assert missing.status_code == 404

    sent = await tenant.client.post(f"{base}/messages", json={"text": "Oi"})
    message_id = sent.json()["id"]
    await fail_message(server.database_url, tenant, conversation_id, message_id)
    foreign = await other_tenant.client.post(f"{base}/messages/{message_id}/retry")
    assert foreign.status_code == 404
    # A closed conversation is reopened before anyone writes in it again.
    assert (await tenant.client.post(f"{base}/close")).status_code == 200
    closed = await tenant.client.post(f"{base}/messages/{message_id}/retry")
    assert closed.status_code == 409
    assert closed.json()["field"] == "mode"
    assert await status_of(tenant, conversation_id, message_id) == "failed"
