"""The playground with the `openai` brain through the app, on both databases: the answer with
tokens and cost, the `llm_calls` row and its `llm.call` event, failures recorded, unknown
models flagged, and the monthly token budget; the price table's arithmetic."""

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select

from atende.agents.brains.base import BUDGET_EXCEEDED
from atende.agents.llm_calls import DEFAULT_PRICES, cost_of, price_of
from atende.agents.models import LlmCall
from atende.core.events import Event
from atende.core.settings import ModelPrice
from tests.support.direct_db import direct_session
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import (
    Server,
    create_pg_database,
    drop_pg_database,
    start_server,
    stop_server,
)
from tests.support.tenants import Tenant, sign_up
from tests.test_agents_api import FAQ, ask, new_agent

KEY = "sk-tenant-key-0123456789"
FALLBACK = "Vou chamar uma pessoa da equipe."
FAST_RETRY = {"retry-after-ms": "5"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def openai_agent(tenant: Tenant, fake: FakeOpenAI, model: str = "gpt-4o-mini") -> object:
    agent = await new_agent(
        tenant.client,
        brain="openai",
        base_url=fake.base_url + "/v1",
        model=model,
        api_key=KEY,
        temperature=0.1,
        max_tokens=200,
        instructions="Você atende a Loja Azul.",
        fallback_text=FALLBACK,
    )
    response = await tenant.client.post(f"/api/v1/agents/{agent['id']}/knowledge", json=FAQ)
    assert response.status_code == 201, response.text
    return agent["id"]


async def recorded(server: Server, call_id: object) -> tuple[LlmCall, Event]:
    async with direct_session(server.database_url) as session:
        call = await session.scalar(select(LlmCall).where(LlmCall.id == call_id))
        events = await session.scalars(select(Event).where(Event.type == "llm.call"))
        [event] = [e for e in events if e.payload["call_id"] == call_id]
    assert call is not None
    return call, event


async def test_playground_runs_the_openai_brain_and_records_the_call(
    server: Server, tenant: Tenant, fake: FakeOpenAI
) -> None:
    agent_id = await openai_agent(tenant, fake)
    fake.say("Sim, aceitamos Pix [1].", prompt_tokens=1000, completion_tokens=500)
    body = await ask(tenant.client, agent_id, "Vocês aceitam Pix?")

    assert body["answer"] == "Sim, aceitamos Pix."
    assert body["brain"] == "openai"
    assert body["model"] == "gpt-4o-mini"
    assert body["outcome"] == "ok"
    assert not body["handoff"]
    assert (body["prompt_tokens"], body["completion_tokens"]) == (1000, 500)
    assert body["cost"] == pytest.approx(0.00045)  # 1000 x 0.15 + 500 x 0.60 per million
    passages = body["passages"]
    assert isinstance(passages, list)
    assert [p["text"] for p in passages] == ["Sim, aceitamos Pix e cartões."]

    [request] = fake.completions()
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json["model"] == "gpt-4o-mini"
    assert request.json["temperature"] == 0.1
    assert request.json["max_tokens"] == 200
    system = request.json["messages"][0]["content"]
    assert system.startswith("Você atende a Loja Azul.")
    assert "[1] Source: Perguntas frequentes" in system
    assert request.json["messages"][-1] == {"role": "user", "content": "Vocês aceitam Pix?"}

    call, event = await recorded(server, body["llm_call_id"])
    assert (call.org_id, call.agent_id, call.conversation_id) == (tenant.org_id, agent_id, None)
    assert (call.model, call.prompt_tokens, call.completion_tokens) == ("gpt-4o-mini", 1000, 500)
    assert (call.cost_micros, call.priced, call.outcome, call.error) == (450, True, "ok", None)
    assert call.latency_ms >= 0
    assert event.org_id == tenant.org_id
    assert event.payload["cost_micros"] == 450
    assert event.payload["outcome"] == "ok"
    assert event.payload["agent_id"] == agent_id


async def test_a_failing_model_gives_the_fallback_and_is_recorded(
    server: Server, tenant: Tenant, fake: FakeOpenAI
) -> None:
    agent_id = await openai_agent(tenant, fake)
    fake.fail(500, times=3, **FAST_RETRY)
    body = await ask(tenant.client, agent_id, "Vocês aceitam Pix?")

    assert len(fake.completions()) == 3  # ATENDE_LLM_MAX_RETRIES=2
    assert body["answer"] == FALLBACK
    assert body["handoff"]
    assert body["outcome"] == "fallback"
    assert "HTTP 500" in str(body["error"])
    call, event = await recorded(server, body["llm_call_id"])
    assert call.outcome == "fallback"
    assert call.error is not None
    assert "HTTP 500" in call.error
    assert event.payload["outcome"] == "fallback"


async def test_tool_calls_are_shown_and_unknown_models_are_flagged(
    server: Server, tenant: Tenant, fake: FakeOpenAI
) -> None:
    agent_id = await openai_agent(tenant, fake, model="llama3.2:3b")
    fake.call_tool("handoff_to_human", {"reason": "pediu uma pessoa"}, prompt_tokens=40)
    fake.call_tool("open_the_safe", "{}", prompt_tokens=40)
    fake.say("Já chamei uma pessoa.", prompt_tokens=40)
    body = await ask(tenant.client, agent_id, "Quero falar com alguém")

    assert body["handoff"]
    assert body["handoff_reason"] == "pediu uma pessoa"
    calls = body["tool_calls"]
    assert isinstance(calls, list)
    assert [(c["name"], c["error"] is None) for c in calls] == [
        ("handoff_to_human", True),
        ("open_the_safe", False),
    ]
    assert body["cost"] == 0
    assert body["prompt_tokens"] == 120
    call, event = await recorded(server, body["llm_call_id"])
    assert (call.priced, call.cost_micros, call.outcome) == (False, 0, "ok")
    assert call.error is not None
    assert "open_the_safe" in call.error
    assert event.payload["priced"] is False


@pytest.fixture(scope="module")
def budget_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a small monthly token budget and a price of its own."""
    data_dir = tmp_path_factory.mktemp(f"budget-{backend}")
    pg_name = None
    if backend == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'atende.db'}"
    prices = json.dumps({"house-model": {"prompt": 1, "completion": 2}})
    srv = start_server(data_dir, url, llm_monthly_token_budget="200", llm_prices=prices)
    yield srv
    stop_server(srv)
    if pg_name:
        drop_pg_database(pg_name)


async def test_the_monthly_token_budget_stops_the_model_and_hands_off(
    budget_server: Server, fake: FakeOpenAI
) -> None:
    owner = await sign_up(budget_server.base_url)
    other = await sign_up(budget_server.base_url, organisation="Other Co")
    try:
        agent_id = await openai_agent(owner, fake, model="house-model")
        fake.say("Sim!", prompt_tokens=150, completion_tokens=60)
        first = await ask(owner.client, agent_id, "Vocês aceitam Pix?")
        assert first["outcome"] == "ok"
        assert first["cost"] == pytest.approx(0.00027)  # the price from ATENDE_LLM_PRICES

        refused = await ask(owner.client, agent_id, "E cartão?")
        assert len(fake.completions()) == 1  # no model call once the budget is spent
        assert refused["handoff"]
        assert refused["handoff_reason"] == BUDGET_EXCEEDED
        assert refused["answer"] == FALLBACK
        assert refused["outcome"] is None
        assert refused["llm_call_id"] is None

        other_agent = await openai_agent(other, fake, model="house-model")
        served = await ask(other.client, other_agent, "Vocês aceitam Pix?")
        assert served["outcome"] == "ok"  # the budget is per organisation
    finally:
        await owner.aclose()
        await other.aclose()


def test_prices_exact_dated_routed_and_overridden() -> None:
    prices = {**DEFAULT_PRICES, "gpt-4o-mini": ModelPrice(prompt=1, completion=1)}
    assert price_of("gpt-4o-mini", prices) == ModelPrice(prompt=1, completion=1)
    assert price_of("gpt-4o-2024-08-06", prices) == DEFAULT_PRICES["gpt-4o"]
    assert price_of("openai/gpt-4o", prices) == DEFAULT_PRICES["gpt-4o"]
    assert price_of("gpt-4o-mini:free", prices) == ModelPrice(prompt=1, completion=1)
    assert price_of("gpt-4o-turbo-x", prices) is None  # not a dated gpt-4o
    assert price_of("llama3.2:3b", prices) is None
    cost = cost_of("gpt-4o", 1_000_000, 1_000_000, DEFAULT_PRICES)
    assert (cost.micros, cost.priced, cost.usd) == (12_500_000, True, 12.5)
    assert cost_of("gpt-4o-mini", 3, 1, DEFAULT_PRICES).micros == 1  # 0.45 + 0.60 = 1.05 micros
    unknown = cost_of("mystery", 1000, 1000, DEFAULT_PRICES)
    assert (unknown.micros, unknown.priced) == (0, False)
