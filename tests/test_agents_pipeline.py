"""The agent answering on a sandbox number: bursts, handoff, takeover, exactly-once replies."""

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from atende.inbox.models import Message
from tests.support.direct_db import direct_session
from tests.support.fake_evolution import FakeEvolution
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_whatsapp_evolution_e2e import NAME, Number
from tests.test_whatsapp_sandbox import paired_instance

CUSTOMER = "+5511955554444"
FAST = {"debounce_seconds": 1.0, "typing_chars_per_second": 1000, "replies_per_minute": 20}


async def agent_on_number(tenant: Tenant, **behaviour: Any) -> tuple[int, int]:
    instance = await paired_instance(tenant)
    agent = await tenant.client.post(
        "/api/v1/agents",
        json={
            "name": "Ana",
            "greeting": "",
            "fallback_text": "Vou chamar uma pessoa da equipe.",
            "behaviour": {**FAST, **behaviour},
        },
    )
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    faq = await tenant.client.post(
        f"/api/v1/agents/{agent_id}/knowledge",
        json={
            "kind": "faq",
            "title": "Loja",
            "pairs": [
                {
                    "question": "Qual o horário de funcionamento da loja?",
                    "answer": "Abrimos de segunda a sábado, das 9h às 18h.",
                },
                {
                    "question": "Vocês fazem entrega?",
                    "answer": "Sim, entregamos em toda a cidade em até 2 horas.",
                },
            ],
        },
    )
    assert faq.status_code == 201, faq.text
    assigned = await tenant.client.patch(
        f"/api/v1/instances/{instance['id']}", json={"agent_id": agent_id}
    )
    assert assigned.status_code == 200
    return int(str(instance["id"])), agent_id


async def say(tenant: Tenant, instance_id: int, text: str) -> None:
    reply = await tenant.client.post(
        f"/api/v1/sandbox/{instance_id}/messages", json={"from": CUSTOMER, "text": text}
    )
    assert reply.status_code == 201, reply.text


async def phone(tenant: Tenant, instance_id: int) -> list[dict[str, Any]]:
    chats = (
        await tenant.client.get(
            f"/api/v1/sandbox/{instance_id}/messages", params={"customer": CUSTOMER}
        )
    ).json()
    return list(chats[0]["messages"]) if chats else []


async def settle(tenant: Tenant, instance_id: int, seconds: float = 4.0) -> list[dict[str, Any]]:
    """Waits until the agent has been quiet for a while, then returns the chat."""
    await asyncio.sleep(seconds)
    return await phone(tenant, instance_id)


async def conversation_mode(tenant: Tenant) -> str:
    page = (await tenant.client.get("/api/v1/conversations")).json()
    return str(page["items"][0]["mode"])


async def test_a_burst_gets_one_answer_from_the_knowledge(tenant: Tenant) -> None:
    instance_id, _agent = await agent_on_number(tenant)
    await say(tenant, instance_id, "oi")
    await say(tenant, instance_id, "vocês fazem entrega?")
    await say(tenant, instance_id, "é urgente")
    chat = await settle(tenant, instance_id)
    agent_lines = [m for m in chat if m["author"] == "agent"]
    assert len(agent_lines) == 1, chat
    assert "entregamos em toda a cidade" in agent_lines[0]["text"]
    assert agent_lines[0]["id"] > max(m["id"] for m in chat if m["direction"] == "in")


async def test_taking_over_silences_the_bot_and_releasing_brings_it_back(
    tenant: Tenant,
) -> None:
    instance_id, _agent = await agent_on_number(tenant)
    await say(tenant, instance_id, "Qual o horário da loja?")
    await settle(tenant, instance_id)
    conversation_id = (await tenant.client.get("/api/v1/conversations")).json()["items"][0]["id"]
    base = f"/api/v1/conversations/{conversation_id}"
    await tenant.client.post(base + "/takeover")
    await say(tenant, instance_id, "e vocês fazem entrega?")
    chat = await settle(tenant, instance_id)
    assert [m["author"] for m in chat].count("agent") == 1  # only the first answer
    await tenant.client.post(base + "/release")
    await say(tenant, instance_id, "vocês fazem entrega?")
    chat = await settle(tenant, instance_id)
    assert [m["author"] for m in chat].count("agent") == 2


async def test_no_match_answers_the_fallback_and_hands_off(tenant: Tenant) -> None:
    instance_id, _agent = await agent_on_number(tenant)
    await say(tenant, instance_id, "quero trocar o pneu do meu trator agrícola")
    chat = await settle(tenant, instance_id)
    assert chat[-1]["author"] == "agent"
    assert chat[-1]["text"] == "Vou chamar uma pessoa da equipe."
    assert await conversation_mode(tenant) == "human"


async def test_a_handoff_keyword_goes_to_people_without_an_answer(tenant: Tenant) -> None:
    instance_id, _agent = await agent_on_number(tenant)
    await say(tenant, instance_id, "quero falar com um atendente")
    chat = await settle(tenant, instance_id)
    assert [m["author"] for m in chat] == ["contact"]
    assert await conversation_mode(tenant) == "human"


async def test_numbers_without_an_agent_stay_quiet(tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    await say(tenant, int(str(instance["id"])), "Qual o horário da loja?")
    chat = await settle(tenant, int(str(instance["id"])), seconds=2.0)
    assert [m["author"] for m in chat] == ["contact"]


async def test_an_openai_agent_answers_with_memory_and_its_tools_take_effect(
    tenant: Tenant,
) -> None:
    async with FakeOpenAI() as model:
        instance_id, agent_id = await agent_on_number(tenant)
        switched = await tenant.client.patch(
            f"/api/v1/agents/{agent_id}",
            json={
                "brain": "openai",
                "base_url": model.base_url + "/v1",
                "model": "gpt-4o-mini",
                "api_key": "sk-test-pipeline",
            },
        )
        assert switched.status_code == 200, switched.text
        model.say("Entregamos sim, em até 2 horas.")
        await say(tenant, instance_id, "vocês fazem entrega?")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["author"] == "agent"
        assert chat[-1]["text"] == "Entregamos sim, em até 2 horas."
        (request,) = model.completions()
        assert request.headers["authorization"] == "Bearer sk-test-pipeline"
        messages = request.json["messages"]
        assert messages[0]["role"] == "system"
        assert "entregamos em toda a cidade" in messages[0]["content"].lower()  # knowledge
        assert messages[-1] == {"role": "user", "content": "vocês fazem entrega?"}
        # Next turn: the model labels the conversation, then closes the matter.
        label = await tenant.client.post("/api/v1/labels", json={"name": "Pedido"})
        assert label.status_code == 201, label.text
        model.call_tool("add_label", {"name": "pedido"})
        model.call_tool("close_conversation")
        model.say("Obrigado! Qualquer coisa, é só chamar.")
        await say(tenant, instance_id, "obrigado, era só isso")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["text"] == "Obrigado! Qualquer coisa, é só chamar."
        memory = model.completions()[1].json["messages"]
        assert {"role": "assistant", "content": "Entregamos sim, em até 2 horas."} in memory
        offered = model.completions()[1].json["tools"][1]["function"]
        assert offered["parameters"]["properties"]["name"]["enum"] == ["Pedido"]
    assert await conversation_mode(tenant) == "closed"
    page = (await tenant.client.get("/api/v1/conversations")).json()
    assert [label["name"] for label in page["items"][0]["labels"]] == ["Pedido"]


async def test_people_silent_long_enough_hand_the_conversation_back(
    server: Server, tenant: Tenant
) -> None:
    instance_id, _agent = await agent_on_number(tenant, human_silence_resume_minutes=1)
    await say(tenant, instance_id, "quero falar com um atendente")
    await settle(tenant, instance_id, seconds=2.5)
    assert await conversation_mode(tenant) == "human"
    await say(tenant, instance_id, "vocês fazem entrega?")
    chat = await settle(tenant, instance_id, seconds=2.5)
    assert [m["author"] for m in chat].count("agent") == 0  # people's minute is not over
    # Two minutes pass without a word from the team.
    async with direct_session(server.database_url) as session:
        messages = await session.scalars(select(Message).where(Message.org_id == tenant.org_id))
        for message in messages:
            message.sent_at -= timedelta(minutes=2)
    await say(tenant, instance_id, "alguém aí? vocês fazem entrega?")
    chat = await settle(tenant, instance_id)
    assert chat[-1]["author"] == "agent"
    assert "entregamos em toda a cidade" in chat[-1]["text"]
    assert await conversation_mode(tenant) == "bot"


async def test_the_customer_sees_typing_before_the_answer_on_evolution(
    server: Server, tenant: Tenant
) -> None:
    async with FakeEvolution() as evolution:
        number = Number(server, tenant, evolution)
        await number.pair()
        await number.fixture("connection-update-open.json")
        agent = await tenant.client.post("/api/v1/agents", json={"name": "Ana", "behaviour": FAST})
        await tenant.client.patch(
            f"/api/v1/instances/{number.id}", json={"agent_id": agent.json()["id"]}
        )
        await number.fixture("messages-upsert-text.json")
        for _ in range(100):
            if any(r.path == f"/message/sendText/{NAME}" for r in evolution.requests):
                break
            await asyncio.sleep(0.1)
        presence = evolution.last("POST", f"/chat/sendPresence/{NAME}")
        sent = evolution.last("POST", f"/message/sendText/{NAME}")
    assert presence.json is not None
    assert presence.json["presence"] == "composing"
    assert presence.json["number"] == "5511999998888"
    assert sent.json is not None
    assert sent.json["number"] == "5511999998888"


async def test_without_typing_the_answer_goes_at_once_and_no_presence_is_sent(
    server: Server, tenant: Tenant
) -> None:
    async with FakeEvolution() as evolution:
        number = Number(server, tenant, evolution)
        await number.pair()
        await number.fixture("connection-update-open.json")
        agent = await tenant.client.post(
            "/api/v1/agents", json={"name": "Ana", "behaviour": {**FAST, "show_typing": False}}
        )
        await tenant.client.patch(
            f"/api/v1/instances/{number.id}", json={"agent_id": agent.json()["id"]}
        )
        await number.fixture("messages-upsert-text.json")
        for _ in range(100):
            if any(r.path == f"/message/sendText/{NAME}" for r in evolution.requests):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a presence job, had one been queued, would have run by now
        paths = [r.path for r in evolution.requests]
    assert f"/message/sendText/{NAME}" in paths
    assert f"/chat/sendPresence/{NAME}" not in paths
