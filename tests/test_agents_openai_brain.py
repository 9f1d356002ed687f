"""The `openai` brain against a real chat-completions server on loopback: the requests it
sends (model, prompt with passages, tools, key, sampling), tool calls, retries, timeouts,
malformed and unknown tool calls, the fallback and the token budget."""

import json
from typing import Any

import pytest

from atende.agents.behaviour import Behaviour
from atende.agents.brains.base import (
    BUDGET_EXCEEDED,
    BrainContext,
    MemoryMessage,
    ToolCall,
    ToolFailed,
    ToolResult,
    ToolSpec,
)
from atende.agents.brains.openai import MODEL_FAILED, OpenAIBrain
from atende.agents.brains.tools import BUILTIN_RESULTS
from atende.agents.search import SearchHit
from atende.agents.service import AgentProfile
from tests.support.fake_http import Scripted
from tests.support.fake_openai import PATH, FakeOpenAI

FALLBACK = "Vou chamar uma pessoa da equipe."
FAST_RETRY = {"retry-after-ms": "5"}


@pytest.fixture
async def fake() -> Any:
    async with FakeOpenAI() as server:
        yield server


def profile(fake: FakeOpenAI, **changes: Any) -> AgentProfile:
    fields: dict[str, Any] = {
        "id": 1,
        "org_id": 1,
        "name": "Loja",
        "instructions": "Você atende a Loja Azul.",
        "greeting": "Oi!",
        "fallback_text": FALLBACK,
        "brain": "openai",
        "base_url": fake.base_url + "/v1",
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 300,
        "api_key": "sk-secret-123456",
        "behaviour": Behaviour(),
    }
    return AgentProfile(**{**fields, **changes})


HITS = [
    SearchHit(1, 7, "Perguntas frequentes", "Sim, aceitamos Pix.", "Aceitam Pix?", None, 2.0, 1),
    SearchHit(2, 8, "Política de trocas", "Trocas em até 30 dias.", "", None, 1.0, 0.5),
]


LABELS = ("Pagamento", "x")  # the organisation's labels, which add_label may use


def context(fake: FakeOpenAI, message: str = "Vocês aceitam Pix?", **changes: Any) -> BrainContext:
    agent = profile(fake, **changes.pop("agent", {}))
    changes.setdefault("labels", LABELS)
    return BrainContext(agent=agent, message=message, knowledge=list(HITS), **changes)


def brain(**options: Any) -> OpenAIBrain:
    return OpenAIBrain(**{"timeout": 5.0, "max_retries": 2, **options})


def tool_names(request_json: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request_json["tools"]]


async def test_a_scripted_answer_and_the_request_the_server_receives(fake: FakeOpenAI) -> None:
    fake.say("Sim, aceitamos Pix [1].", prompt_tokens=120, completion_tokens=9)
    memory = [
        MemoryMessage("contact", "Oi"),
        MemoryMessage("agent", "Olá! Como posso ajudar?"),
        MemoryMessage("operator", "Sou a Ana, da loja."),
    ]
    reply = await brain().reply(context(fake, memory=memory))

    assert reply.text == "Sim, aceitamos Pix."  # the marker is for us, not the customer
    assert [h.chunk_id for h in reply.citations] == [1]
    assert (reply.prompt_tokens, reply.completion_tokens) == (120, 9)
    assert reply.model == "gpt-4o-mini"
    assert reply.outcome == "ok"
    assert reply.error is None
    assert not reply.handoff
    assert reply.latency_ms > 0

    [request] = fake.completions()
    assert request.headers["authorization"] == "Bearer sk-secret-123456"
    body = request.json
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 300
    assert body["tool_choice"] == "auto"
    assert tool_names(body) == ["handoff_to_human", "add_label", "close_conversation"]
    handoff = body["tools"][0]["function"]["parameters"]
    assert handoff["required"] == ["reason"]
    assert "reason" in handoff["properties"]
    system, *rest = body["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("Você atende a Loja Azul.")
    assert (
        "[1] Source: Perguntas frequentes\nQ: Aceitam Pix?\nA: Sim, aceitamos Pix."
        in (system["content"])
    )
    assert "[2] Source: Política de trocas\nTrocas em até 30 dias." in system["content"]
    assert rest == [
        {"role": "user", "content": "Oi"},
        {"role": "assistant", "content": "Olá! Como posso ajudar?"},
        {"role": "assistant", "content": "(operator) Sou a Ana, da loja."},
        {"role": "user", "content": "Vocês aceitam Pix?"},
    ]


async def test_a_tool_call_then_the_final_answer(fake: FakeOpenAI) -> None:
    fake.call_tool("add_label", {"name": "pagamento"}, prompt_tokens=100, completion_tokens=8)
    fake.say("Anotado! Aceitamos Pix.", prompt_tokens=130, completion_tokens=6)
    reply = await brain().reply(context(fake))

    assert reply.text == "Anotado! Aceitamos Pix."
    assert reply.outcome == "ok"
    assert reply.tool_calls == [
        ToolCall("add_label", {"name": "pagamento"}, result=BUILTIN_RESULTS["add_label"])
    ]
    assert (reply.prompt_tokens, reply.completion_tokens) == (230, 14)
    assert reply.citations == HITS  # no marker: the answer rests on what it was given

    first, second = fake.completions()
    messages = second.json["messages"]
    assert messages[: len(first.json["messages"])] == first.json["messages"]
    assistant, tool = messages[-2:]
    assert assistant["role"] == "assistant"
    [call] = assistant["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "add_label"
    assert json.loads(call["function"]["arguments"]) == {"name": "pagamento"}
    assert tool == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": BUILTIN_RESULTS["add_label"],
    }


async def test_handoff_and_close_are_returned_to_the_caller(fake: FakeOpenAI) -> None:
    fake.call_tool("handoff_to_human", {"reason": "quer negociar o preço"})
    fake.call_tool("close_conversation")
    fake.say("Uma pessoa da equipe vai falar com você.")
    reply = await brain().reply(context(fake))

    assert reply.handoff
    assert reply.handoff_reason == "quer negociar o preço"
    assert [(c.name, c.arguments, c.error) for c in reply.tool_calls] == [
        ("handoff_to_human", {"reason": "quer negociar o preço"}, None),
        ("close_conversation", {}, None),
    ]
    assert reply.text == "Uma pessoa da equipe vai falar com você."


async def test_a_429_is_retried_then_succeeds(fake: FakeOpenAI) -> None:
    fake.fail(429, **FAST_RETRY)
    fake.say("Sim!")
    reply = await brain().reply(context(fake))
    assert reply.text == "Sim!"
    assert reply.outcome == "ok"
    assert len(fake.completions()) == 2


async def test_500s_until_retries_run_out_give_the_fallback(fake: FakeOpenAI) -> None:
    fake.fail(500, times=3, **FAST_RETRY)
    reply = await brain(max_retries=2).reply(context(fake))

    assert len(fake.completions()) == 3  # the first try and two retries
    assert reply.text == FALLBACK
    assert reply.outcome == "fallback"
    assert reply.handoff
    assert reply.handoff_reason == MODEL_FAILED
    assert reply.error is not None
    assert "HTTP 500" in reply.error
    assert reply.prompt_tokens == reply.completion_tokens == 0


async def test_a_model_failure_without_fallback_text_is_an_error(fake: FakeOpenAI) -> None:
    fake.fail(401)  # not retried
    reply = await brain().reply(context(fake, agent={"fallback_text": ""}))
    assert len(fake.completions()) == 1
    assert reply.text == ""
    assert reply.outcome == "error"
    assert reply.handoff
    assert reply.error is not None
    assert "HTTP 401" in reply.error


async def test_a_timeout_gives_the_fallback(fake: FakeOpenAI) -> None:
    fake.script("POST", PATH, Scripted(status=200, json={}, delay=5))
    reply = await brain(timeout=0.3, max_retries=0).reply(context(fake))
    assert reply.text == FALLBACK
    assert reply.outcome == "fallback"
    assert reply.handoff
    assert reply.error == "the model did not answer in time"


async def test_malformed_tool_arguments_are_told_to_the_model(fake: FakeOpenAI) -> None:
    fake.call_tool("add_label", '{"name": "pag')
    fake.say("Desculpe, aceitamos Pix.")
    reply = await brain().reply(context(fake))

    assert reply.text == "Desculpe, aceitamos Pix."
    assert reply.outcome == "ok"
    [refused] = reply.tool_calls
    assert refused.name == "add_label"
    assert refused.arguments == {"_raw": '{"name": "pag'}
    assert refused.error is not None
    assert "not valid JSON" in refused.error
    assert reply.error is not None
    assert "add_label" in reply.error
    tool_message = fake.completions()[1].json["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].startswith("error: the arguments of add_label")


async def test_bad_arguments_of_a_builtin_are_refused(fake: FakeOpenAI) -> None:
    fake.call_tool("handoff_to_human", {"why": 3})
    fake.say("Certo.")
    reply = await brain().reply(context(fake))
    assert not reply.handoff  # refused: no effect for the caller to apply
    assert reply.tool_calls[0].error == "handoff_to_human takes no argument why"


async def test_an_unknown_tool_is_refused_and_the_model_recovers(fake: FakeOpenAI) -> None:
    fake.call_tool("refund_order", {"order": "123"})
    fake.say("Não consigo fazer reembolsos; posso chamar uma pessoa.")
    reply = await brain().reply(context(fake))

    assert reply.outcome == "ok"
    assert reply.text.startswith("Não consigo")
    assert reply.tool_calls[0].name == "refund_order"
    assert reply.tool_calls[0].error is not None
    tool_message = fake.completions()[1].json["messages"][-1]
    assert "no tool named 'refund_order'" in tool_message["content"]
    assert "handoff_to_human" in tool_message["content"]


async def test_a_model_that_keeps_calling_tools_ends_in_the_fallback(fake: FakeOpenAI) -> None:
    for _ in range(3):
        fake.call_tool("refund_order", {"order": "123"})
    reply = await brain(max_steps=3).reply(context(fake))

    requests = fake.completions()
    assert len(requests) == 3
    assert [r.json["tool_choice"] for r in requests] == ["auto", "auto", "none"]
    assert reply.text == FALLBACK
    assert reply.outcome == "fallback"
    assert reply.handoff
    assert len(reply.tool_calls) == 3
    assert reply.error is not None
    assert "no answer after 3 requests" in reply.error
    assert reply.prompt_tokens == 30  # tokens spent are still counted


async def test_malformed_responses_give_the_fallback(fake: FakeOpenAI) -> None:
    fake.turns.append(fake_turn(body={"id": "x", "object": "chat.completion", "choices": []}))
    fake.say("")
    one = await brain().reply(context(fake))
    two = await brain().reply(context(fake))
    assert one.outcome == two.outcome == "fallback"
    assert one.error == "the model sent no choices"
    assert two.error == "the model sent an empty answer"


def fake_turn(**fields: Any) -> Any:
    from tests.support.fake_openai import Turn

    return Turn(**fields)


async def test_user_tools_run_through_the_callers_runner(fake: FakeOpenAI) -> None:
    seen: list[ToolCall] = []

    async def run(call: ToolCall) -> ToolResult:
        seen.append(call)
        return ToolResult('{"status": "shipped"}', status=200)

    order = ToolSpec(
        "order_status",
        "Status of an order",
        {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    )
    fake.call_tool("order_status", {"id": "A1"})
    fake.say("Seu pedido foi enviado.")
    reply = await brain().reply(context(fake, tools=[order], run_tool=run))

    assert seen == [ToolCall("order_status", {"id": "A1"})]
    [call] = reply.tool_calls
    assert call == ToolCall(
        "order_status",
        {"id": "A1"},
        result='{"status": "shipped"}',
        status=200,
        latency_ms=call.latency_ms,
    )
    assert call.latency_ms is not None
    first, second = fake.completions()
    assert tool_names(first.json)[-1] == "order_status"
    assert second.json["messages"][-1]["content"] == '{"status": "shipped"}'


async def test_no_key_and_the_servers_own_openai_environment_are_not_sent(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operators-own")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-operators-own")
    fake.say("Oi!")
    await brain().reply(context(fake, agent={"api_key": ""}))
    [request] = fake.completions()
    assert request.headers["authorization"] == "Bearer no-key"
    assert "openai-organization" not in request.headers


async def test_an_exhausted_budget_calls_no_model(fake: FakeOpenAI) -> None:
    reply = await brain().reply(context(fake, token_budget=0))
    assert fake.completions() == []
    assert reply.handoff
    assert reply.handoff_reason == BUDGET_EXCEEDED
    assert reply.text == FALLBACK
    assert reply.outcome is None


async def test_a_budget_spent_within_a_turn_stops_further_requests(fake: FakeOpenAI) -> None:
    fake.call_tool("add_label", {"name": "x"}, prompt_tokens=90, completion_tokens=20)
    reply = await brain().reply(context(fake, token_budget=100))
    assert len(fake.completions()) == 1
    assert reply.handoff_reason == BUDGET_EXCEEDED
    assert reply.outcome == "fallback"
    assert reply.prompt_tokens == 90


async def test_user_tool_arguments_are_checked_and_failures_told(fake: FakeOpenAI) -> None:
    """Arguments breaking the tool's JSON Schema never reach the runner; a runner's failure
    (with its HTTP status) and a crash are told to the model, and the turn goes on."""
    seen: list[ToolCall] = []

    async def run(call: ToolCall) -> ToolResult:
        seen.append(call)
        if call.arguments["id"] == "down":
            raise ToolFailed("HTTP 502: bad gateway", status=502)
        raise RuntimeError("boom")

    order = ToolSpec(
        "order_status",
        "Status of an order",
        {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    )
    fake.call_tool("order_status", {"id": 7})
    fake.call_tool("order_status", {"id": "down"})
    fake.call_tool("order_status", {"id": "crash"})
    fake.say("Não consegui ver agora.")
    reply = await brain(max_steps=5).reply(context(fake, tools=[order], run_tool=run))

    assert reply.text == "Não consegui ver agora."
    assert [c.arguments for c in seen] == [{"id": "down"}, {"id": "crash"}]
    invalid, failed, crashed = reply.tool_calls
    assert invalid.error == "invalid arguments for order_status at `id`: 7 is not of type 'string'"
    assert (failed.status, failed.error) == (502, "HTTP 502: bad gateway")
    assert crashed.error == "RuntimeError: boom"
    told = [c.json["messages"][-1]["content"] for c in fake.completions()[1:]]
    assert told[1] == "error: the tool order_status failed (HTTP 502: bad gateway)"


async def test_add_label_offers_only_the_organisations_labels(fake: FakeOpenAI) -> None:
    fake.call_tool("add_label", {"name": "Urgente"})
    fake.say("Certo.")
    reply = await brain().reply(context(fake))
    [refused] = reply.tool_calls
    assert refused.error is not None
    assert "no label 'Urgente'" in refused.error
    label = fake.completions()[0].json["tools"][1]["function"]
    assert label["name"] == "add_label"
    assert label["parameters"]["properties"]["name"]["enum"] == ["Pagamento", "x"]

    fake.say("Sem rótulos.")
    await brain().reply(context(fake, labels=()))
    assert tool_names(fake.completions()[-1].json) == ["handoff_to_human", "close_conversation"]
