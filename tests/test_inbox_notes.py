"""Internal notes: people's own words about a conversation, live to colleagues, and never
anything the customer, the unread count, the list preview, search or the agent can see."""

import asyncio
import json

from tests.support.fake_openai import FakeOpenAI
from tests.support.sse import iter_events
from tests.support.tenants import Tenant
from tests.test_agents_pipeline import say, settle
from tests.test_agents_why import openai_agent_on_number
from tests.test_inbox_api import conversation_with_customer, events_until
from tests.test_whatsapp_sandbox import CUSTOMER


async def test_a_note_is_listed_and_announced_but_never_sent(tenant: Tenant) -> None:
    instance_id, conversation_id = await conversation_with_customer(tenant)
    base = f"/api/v1/conversations/{conversation_id}"
    before = (await tenant.client.get(base)).json()
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        created = await tenant.client.post(
            f"{base}/notes", json={"text": "Cliente VIP, oferecer frete grátis"}
        )
        assert created.status_code == 201, created.text
        note = created.json()
        seen = await events_until(events, lambda e: e.event == "note.created")
    assert seen[-1].json["data"]["note_id"] == note["id"]
    assert seen[-1].json["data"]["conversation_id"] == conversation_id
    assert note["text"] == "Cliente VIP, oferecer frete grátis"
    assert note["author_user_id"] is not None

    listed = await tenant.client.get(f"{base}/notes")
    assert [n["id"] for n in listed.json()] == [note["id"]]
    # Not a message: not in the history, not the preview, no unread, no handoff.
    history = (await tenant.client.get(f"{base}/messages")).json()["items"]
    assert all("frete grátis" not in (m["text"] or "") for m in history)
    after = (await tenant.client.get(base)).json()
    assert after["last_message_preview"] == before["last_message_preview"]
    assert after["last_message_at"] == before["last_message_at"]
    assert after["unread_count"] == before["unread_count"]
    assert after["mode"] == before["mode"] == "bot"
    # The sender never saw it: the customer's phone shows only what they wrote.
    await asyncio.sleep(0.5)
    chats = await tenant.client.get(
        f"/api/v1/sandbox/{instance_id}/messages", params={"customer": CUSTOMER}
    )
    assert [m["text"] for chat in chats.json() for m in chat["messages"]] == ["Olá!"]
    # Search finds messages, not notes.
    found = await tenant.client.get("/api/v1/conversations", params={"q": "frete"})
    assert found.json()["items"] == []


async def test_bad_notes_are_refused_and_nothing_is_saved(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    url = f"/api/v1/conversations/{conversation_id}/notes"
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {}, {"text": "a", "x": 1}):
        refused = await tenant.client.post(url, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await tenant.client.post(url, json={"text": "x" * 4000})).status_code == 201
    assert len((await tenant.client.get(url)).json()) == 1
    missing = await tenant.client.post("/api/v1/conversations/999999999/notes", json={"text": "hi"})
    assert missing.status_code == 404
    foreign = await other_tenant.client.get(url)
    assert foreign.status_code == 404


async def test_the_agent_never_reads_notes(tenant: Tenant) -> None:
    async with FakeOpenAI() as model:
        instance_id, _agent = await openai_agent_on_number(tenant, model)
        model.say("Entregamos sim.")
        await say(tenant, instance_id, "vocês fazem entrega?")
        await settle(tenant, instance_id)
        conversation_id = (await tenant.client.get("/api/v1/conversations")).json()["items"][0][
            "id"
        ]
        noted = await tenant.client.post(
            f"/api/v1/conversations/{conversation_id}/notes",
            json={"text": "NOTA-INTERNA: cliente reclamou ontem"},
        )
        assert noted.status_code == 201
        model.say("Até 2 horas.")
        await say(tenant, instance_id, "quanto tempo leva?")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["text"] == "Até 2 horas."  # the note did not hand the chat to people
        prompt = json.dumps(model.completions()[-1].json, ensure_ascii=False)
    assert "Entregamos sim." in prompt  # the memory is there...
    assert "NOTA-INTERNA" not in prompt  # ...without the note
