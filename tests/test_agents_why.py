""" "Why did the agent say this?": every model call keeps the passages the brain used, its tool
calls and its reply (`llm_calls.details`), and `GET /conversations/{id}/llm-calls` shows a
conversation's calls, newest first, to its organisation only; the playground keeps them too."""

from typing import Any

from sqlalchemy import select

from atende.agents.brains.base import BrainReply, ToolCall
from atende.agents.llm_calls import MAX_DETAIL_CHARS, details_of
from atende.agents.models import LlmCall
from atende.agents.search import SearchHit
from tests.support.direct_db import direct_session
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_agents_pipeline import agent_on_number, say, settle


async def openai_agent_on_number(tenant: Tenant, model: FakeOpenAI) -> tuple[int, int]:
    instance_id, agent_id = await agent_on_number(tenant)
    switched = await tenant.client.patch(
        f"/api/v1/agents/{agent_id}",
        json={
            "brain": "openai",
            "base_url": model.base_url + "/v1",
            "model": "gpt-4o-mini",
            "api_key": "sk-test-why",
        },
    )
    assert switched.status_code == 200, switched.text
    return instance_id, agent_id


async def test_the_conversation_shows_why_the_agent_said_each_answer(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    async with FakeOpenAI() as model:
        instance_id, agent_id = await openai_agent_on_number(tenant, model)
        model.say("Entregamos sim, em até 2 horas [1].", prompt_tokens=1000, completion_tokens=500)
        await say(tenant, instance_id, "vocês fazem entrega?")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["text"] == "Entregamos sim, em até 2 horas."
        # Next turn: a refused tool call, a label, then the answer.
        created = await tenant.client.post("/api/v1/labels", json={"name": "Entrega"})
        assert created.status_code == 201, created.text
        model.call_tool("no_such_tool", {"x": 1})
        model.call_tool("add_label", {"name": "entrega"})
        model.say("Obrigado! Qualquer coisa, é só chamar.")
        await say(tenant, instance_id, "obrigado, era só isso")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["text"] == "Obrigado! Qualquer coisa, é só chamar."

    conversation_id = (await tenant.client.get("/api/v1/conversations")).json()["items"][0]["id"]
    url = f"/api/v1/conversations/{conversation_id}/llm-calls"
    response = await tenant.client.get(url)
    assert response.status_code == 200, response.text
    latest, first = response.json()  # newest first

    assert first["agent_id"] == agent_id
    assert first["conversation_id"] == conversation_id
    assert first["model"] == "gpt-4o-mini"
    assert (first["prompt_tokens"], first["completion_tokens"]) == (1000, 500)
    assert abs(first["cost_usd"] - 0.00045) < 1e-9  # 1000 x 0.15 + 500 x 0.60 per million
    assert first["priced"] is True
    assert first["outcome"] == "ok"
    assert first["error"] is None
    assert first["latency_ms"] >= 0
    details = first["details"]
    assert details["reply"] == "Entregamos sim, em até 2 horas."
    assert details["tool_calls"] == []
    (passage,) = details["passages"]  # the one it cited
    assert passage["source_title"] == "Loja"
    assert "entregamos em toda a cidade" in passage["text"].lower()
    assert isinstance(passage["score"], float)

    assert latest["created_at"] >= first["created_at"]
    assert latest["id"] > first["id"]
    assert latest["details"]["reply"] == "Obrigado! Qualquer coisa, é só chamar."
    refused, label = latest["details"]["tool_calls"]
    assert refused["name"] == "no_such_tool"
    assert refused["error"]
    assert label == {
        "name": "add_label",
        "arguments": {"name": "entrega"},
        "result": label["result"],
        "error": None,
        "status": None,  # an HTTP tool's, like its latency
        "latency_ms": None,
    }
    assert latest["details"]["passages"] == []  # no passage matched "obrigado, era só isso"

    assert (await tenant.client.get(url, params={"limit": 1})).json()[0]["id"] == latest["id"]
    # Another organisation cannot tell the conversation exists.
    foreign = await other_tenant.client.get(url)
    assert foreign.status_code == 404, foreign.text
    missing = await tenant.client.get("/api/v1/conversations/999999999/llm-calls")
    assert missing.status_code == 404


async def test_a_conversation_without_model_calls_lists_none(tenant: Tenant) -> None:
    instance_id, _agent = await agent_on_number(tenant)  # the offline brain calls no model
    await say(tenant, instance_id, "vocês fazem entrega?")
    await settle(tenant, instance_id)
    conversation_id = (await tenant.client.get("/api/v1/conversations")).json()["items"][0]["id"]
    response = await tenant.client.get(f"/api/v1/conversations/{conversation_id}/llm-calls")
    assert response.status_code == 200
    assert response.json() == []


async def test_the_playground_keeps_the_details_of_its_call(server: Server, tenant: Tenant) -> None:
    async with FakeOpenAI() as model:
        _instance, agent_id = await openai_agent_on_number(tenant, model)
        model.say("Abrimos das 9h às 18h [1].")
        response = await tenant.client.post(
            f"/api/v1/agents/{agent_id}/test", json={"text": "Qual o horário da loja?"}
        )
    assert response.status_code == 200, response.text
    call_id = response.json()["llm_call_id"]
    async with direct_session(server.database_url) as session:
        call = await session.scalar(select(LlmCall).where(LlmCall.id == call_id))
    assert call is not None
    assert call.details is not None
    assert call.conversation_id is None
    details: dict[str, Any] = call.details
    assert details["reply"] == "Abrimos das 9h às 18h."
    assert [p["source_title"] for p in details["passages"]] == ["Loja"]
    assert "9h às 18h" in details["passages"][0]["text"]


def test_details_cut_long_passages_and_results() -> None:
    hit = SearchHit(
        chunk_id=1,
        source_id=2,
        source_title="Manual",
        text="x" * 5000,
        question="",
        answer=None,
        score=1.5,
        coverage=1.0,
    )
    reply = BrainReply(
        text="ok",
        citations=[hit],
        tool_calls=[ToolCall(name="lookup", arguments={"q": "a"}, result="y" * 5000)],
    )
    details = details_of(reply)
    assert len(details["passages"][0]["text"]) == MAX_DETAIL_CHARS
    assert details["passages"][0]["score"] == 1.5
    assert len(details["tool_calls"][0]["result"]) == MAX_DETAIL_CHARS
    assert details["tool_calls"][0]["error"] is None
