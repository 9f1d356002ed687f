"""The inbox API on a sandbox number: operator messages go out once, handoff, history."""

import asyncio
from collections.abc import AsyncIterator

from tests.support.sse import SseEvent, iter_events
from tests.support.tenants import Tenant
from tests.test_whatsapp_sandbox import CUSTOMER, paired_instance


async def events_until(
    stream: AsyncIterator[SseEvent], predicate: object, timeout: float = 15
) -> list[SseEvent]:
    seen: list[SseEvent] = []

    async def run() -> None:
        async for event in stream:
            seen.append(event)
            if predicate(event):  # type: ignore[operator]
                return

    await asyncio.wait_for(run(), timeout)
    return seen


async def conversation_with_customer(tenant: Tenant) -> tuple[int, int]:
    instance = await paired_instance(tenant)
    await tenant.client.post(
        f"/api/v1/sandbox/{instance['id']}/messages",
        json={"from": CUSTOMER, "name": "Maria", "text": "Olá!"},
    )
    page = (await tenant.client.get("/api/v1/conversations")).json()
    (conversation,) = page["items"]
    return int(str(instance["id"])), conversation["id"]


async def test_operator_message_is_sent_once_and_ticks_live(tenant: Tenant) -> None:
    instance_id, conversation_id = await conversation_with_customer(tenant)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        first = await tenant.client.post(
            url, json={"text": "Bom dia! Abrimos às 9h."}, headers={"Idempotency-Key": "k-1"}
        )
        again = await tenant.client.post(
            url, json={"text": "Bom dia! Abrimos às 9h."}, headers={"Idempotency-Key": "k-1"}
        )
        message_id = first.json()["id"]
        seen = await events_until(
            events,
            lambda e: e.event == "message.status" and e.json["data"]["status"] == "sent",
        )
        read = await tenant.client.post(
            f"/api/v1/sandbox/{instance_id}/read", json={"customer": CUSTOMER}
        )
        seen += await events_until(
            events,
            lambda e: e.event == "message.status" and e.json["data"]["status"] == "read",
        )
    assert first.status_code == 202
    assert first.json()["status"] == "queued"
    assert again.json()["id"] == message_id
    assert again.headers["idempotent-replayed"] == "true"
    assert read.json() == {"read": 1}
    statuses = [
        e.json["data"]["status"]
        for e in seen
        if e.event == "message.status" and e.json["data"]["message_id"] == message_id
    ]
    assert statuses == ["sent", "read"]
    mode_changes = [e.json["data"]["mode"] for e in seen if e.event == "conversation.updated"]
    assert mode_changes[0] == "human"  # an operator wrote: the bot steps back
    phone = (
        await tenant.client.get(
            f"/api/v1/sandbox/{instance_id}/messages", params={"customer": CUSTOMER}
        )
    ).json()
    texts = [(m["direction"], m["text"]) for m in phone[0]["messages"]]
    assert texts == [("in", "Olá!"), ("out", "Bom dia! Abrimos às 9h.")]


async def test_idempotency_key_with_another_body_is_refused(tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    await tenant.client.post(url, json={"text": "one"}, headers={"Idempotency-Key": "same"})
    other = await tenant.client.post(url, json={"text": "two"}, headers={"Idempotency-Key": "same"})
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency-key-reused")
    history = (await tenant.client.get(url)).json()["items"]
    assert [m["text"] for m in history] == ["one", "Olá!"]


async def test_handoff_controls_and_closed_conversations(tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    base = f"/api/v1/conversations/{conversation_id}"
    assert (await tenant.client.post(base + "/takeover")).json()["mode"] == "human"
    assert (await tenant.client.post(base + "/release")).json()["mode"] == "bot"
    closed = await tenant.client.post(base + "/close")
    assert closed.json()["mode"] == "closed"
    assert closed.json()["unread_count"] == 0
    refused = await tenant.client.post(base + "/messages", json={"text": "still there?"})
    assert refused.status_code == 409
    assert (await tenant.client.get(base)).json()["mode"] == "closed"


async def test_history_and_list_pages_with_cursors(tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    for n in range(5):
        await tenant.client.post(
            f"/api/v1/sandbox/{instance['id']}/messages",
            json={"from": f"+55119876500{n:02d}", "text": f"msg {n}"},
        )
    first = (await tenant.client.get("/api/v1/conversations", params={"limit": 2})).json()
    assert len(first["items"]) == 2
    second = (
        await tenant.client.get(
            "/api/v1/conversations", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    third = (
        await tenant.client.get(
            "/api/v1/conversations", params={"limit": 2, "cursor": second["next_cursor"]}
        )
    ).json()
    ids = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert third["next_cursor"] is None
    bad = await tenant.client.get("/api/v1/conversations", params={"cursor": "garbage"})
    assert bad.status_code == 422
    conversation_id = ids[0]
    for n in range(3):
        await tenant.client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": f"reply {n}"}
        )
    url = f"/api/v1/conversations/{conversation_id}/messages"
    newest = (await tenant.client.get(url, params={"limit": 2})).json()
    older = (
        await tenant.client.get(url, params={"limit": 2, "before": newest["next_cursor"]})
    ).json()
    texts = [m["text"] for m in newest["items"] + older["items"]]
    assert texts == ["reply 2", "reply 1", "reply 0", "msg 4"]
    assert older["next_cursor"] is None


async def test_lists_show_only_the_callers_organisation(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    await conversation_with_customer(tenant)
    theirs = (await other_tenant.client.get("/api/v1/conversations")).json()
    assert theirs == {"items": [], "next_cursor": None}
    assert (await other_tenant.client.get("/api/v1/instances")).json() == []


async def test_search_finds_conversations_by_words_without_accents(tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    for number, text in (
        ("+5511911110001", "Vocês fazem ENTREGA no sábado?"),
        ("+5511911110002", "Qual o preço do pão de queijo?"),
        ("+5511911110003", "A entrega de ontem não chegou"),
    ):
        await tenant.client.post(
            f"/api/v1/sandbox/{instance['id']}/messages", json={"from": number, "text": text}
        )

    async def phones(q: str) -> list[str]:
        page = (await tenant.client.get("/api/v1/conversations", params={"q": q})).json()
        return [c["contact"]["phone"] for c in page["items"]]

    assert await phones("entrega") == ["+5511911110003", "+5511911110001"]
    assert await phones("sabado entreg") == ["+5511911110001"]
    assert await phones("PÃO") == ["+5511911110002"]
    assert await phones("nao chegou") == ["+5511911110003"]
    assert await phones("pizza") == []
    assert await phones('"; DROP TABLE messages; --') == []


async def test_search_stays_within_the_organisation(tenant: Tenant, other_tenant: Tenant) -> None:
    await conversation_with_customer(tenant)  # "Olá!"
    theirs = (await other_tenant.client.get("/api/v1/conversations", params={"q": "ola"})).json()
    assert theirs["items"] == []
    mine = (await tenant.client.get("/api/v1/conversations", params={"q": "ola"})).json()
    assert len(mine["items"]) == 1
