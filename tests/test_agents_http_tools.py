"""Agents' own HTTP tools, on both databases: the API (headers encrypted, never shown), its
checks (a parameters schema that is not JSON Schema, URL placeholders, names), and the
`openai` brain calling them: a scripted tool call on the fake model server reaches the tool
server on loopback (allowed by the server's settings), the answer uses the result, and each
call is recorded; bad arguments, failures and refused addresses are told to the model."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from atende.agents.brains.base import ToolSpec
from atende.agents.brains.tools import RefusedCall, check_user_arguments
from atende.agents.models import AgentTool
from atende.agents.tool_runner import HttpTool, build_request
from tests.support.direct_db import direct_session, problem_of
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_web import FakeWeb
from tests.support.server import Server
from tests.support.tenants import Tenant, sign_up
from tests.test_agents_api import ask, new_agent
from tests.test_agents_pipeline import agent_on_number, say, settle

SECRET = "tok-very-secret-9876"
ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "description": "The order number"},
        "verbose": {"type": "boolean"},
    },
    "required": ["order_id"],
    "additionalProperties": False,
}


def order_tool(url: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "order_status",
        "description": "Where an order is.",
        "parameters": ORDER_SCHEMA,
        "method": "GET",
        "url": url,
        "headers": {"X-Api-Key": SECRET},
        "timeout_seconds": 3,
        **changes,
    }


@pytest.fixture
async def owner(open_server: Server) -> AsyncIterator[Tenant]:
    tenant = await sign_up(open_server.base_url)
    yield tenant
    await tenant.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def openai_agent(tenant: Tenant, fake: FakeOpenAI) -> Any:
    agent = await new_agent(
        tenant.client, brain="openai", base_url=fake.base_url + "/v1", model="gpt-4o-mini"
    )
    return agent["id"]


async def test_tools_are_kept_with_their_secrets_encrypted_and_masked(
    server: Server, tenant: Tenant
) -> None:
    agent = await new_agent(tenant.client)
    base = f"/api/v1/agents/{agent['id']}/tools"
    created = await tenant.client.post(base, json=order_tool("https://shop.example/o/{order_id}"))
    assert created.status_code == 201, created.text
    tool = created.json()
    assert tool["headers"] == {"X-Api-Key": "••••9876"}
    assert SECRET not in created.text
    assert (tool["method"], tool["timeout_seconds"]) == ("GET", 3)
    async with direct_session(server.database_url) as session:
        row = await session.scalar(select(AgentTool).where(AgentTool.id == tool["id"]))
        assert row is not None
        assert SECRET not in json.dumps(row.headers_encrypted)

    listed = await tenant.client.get(base)
    assert [t["name"] for t in listed.json()] == ["order_status"]
    assert SECRET not in listed.text
    changed = await tenant.client.patch(
        f"{base}/{tool['id']}",
        json={"description": "Order tracking.", "headers": {"X-Extra": "1", "X-Api-Key": None}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["headers"] == {"X-Extra": "••••"}
    assert changed.json()["description"] == "Order tracking."
    assert (await tenant.client.get(f"{base}/{tool['id']}")).json()["url"] == tool["url"]
    removed = await tenant.client.delete(f"{base}/{tool['id']}")
    assert removed.status_code == 204
    assert (await tenant.client.get(f"{base}/{tool['id']}")).status_code == 404
    assert (await tenant.client.get(base)).json() == []


@pytest.mark.parametrize(
    ("changes", "status", "field", "detail"),
    [
        (
            {"parameters": {"type": "object", "properties": {"a": {"type": "strin"}}}},
            422,
            "parameters",
            "not a valid JSON Schema (at `properties/a/type`)",
        ),
        (
            {"parameters": {"type": "object", "required": "order_id"}},
            422,
            "parameters",
            "not a valid JSON Schema",
        ),
        ({"parameters": {"type": "string"}}, 422, "parameters", "schema of an object"),
        (
            {"parameters": {"$schema": "https://example.com/mine", "type": "object"}},
            422,
            "parameters",
            "Unknown $schema",
        ),
        (
            {
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"$ref": "http://169.254.169.254/latest"}},
                }
            },
            422,
            "parameters",
            "only use local references",
        ),
        (
            {"url": "https://shop.example/o/{verbose}"},
            422,
            "url",
            "{verbose}, which must be a required property",
        ),
        ({"url": "https://{order_id}.example/o"}, 422, "url", "fixed host"),
        ({"url": "https://shop.example/o/{order id}"}, 422, "url", "Placeholders in the URL"),
        ({"url": "ftp://shop.example/o"}, 422, "url", "http:// or https://"),
        ({"name": "handoff_to_human"}, 422, "name", "built-in tool"),
        ({"headers": {"Host": "evil"}}, 422, "headers", "not a header this tool may set"),
    ],
)
async def test_bad_tools_are_refused_precisely_and_not_saved(
    server: Server, tenant: Tenant, changes: dict[str, Any], status: int, field: str, detail: str
) -> None:
    agent = await new_agent(tenant.client)
    base = f"/api/v1/agents/{agent['id']}/tools"
    response = await tenant.client.post(
        base, json={**order_tool("https://shop.example/o/{order_id}"), **changes}
    )
    assert response.status_code == status, response.text
    problem = problem_of(response)
    assert problem["field"] == field
    assert detail in str(problem["detail"])
    assert (await tenant.client.get(base)).json() == []


async def test_names_types_and_duplicates(server: Server, tenant: Tenant) -> None:
    agent = await new_agent(tenant.client)
    base = f"/api/v1/agents/{agent['id']}/tools"
    url = "https://shop.example/o/{order_id}"
    for bad in ({"name": "order status"}, {"method": "TRACE"}, {"timeout_seconds": 99}):
        response = await tenant.client.post(base, json=order_tool(url, **bad))
        assert response.status_code == 422, (bad, response.text)
    assert (await tenant.client.post(base, json=order_tool(url))).status_code == 201
    twice = await tenant.client.post(base, json=order_tool(url))
    assert twice.status_code == 409
    assert problem_of(twice)["detail"] == "This agent already has a tool named order_status."
    [tool] = (await tenant.client.get(base)).json()
    bad_patch = await tenant.client.patch(
        f"{base}/{tool['id']}", json={"parameters": {"type": "object", "properties": {}}}
    )
    assert bad_patch.status_code == 422  # the URL's {order_id} would no longer be required
    assert (await tenant.client.get(f"{base}/{tool['id']}")).json()["parameters"] == ORDER_SCHEMA


async def test_the_model_calls_the_tool_and_answers_with_its_result(
    open_server: Server, owner: Tenant, fake: FakeOpenAI, web: FakeWeb
) -> None:
    agent_id = await openai_agent(owner, fake)
    web.page("/orders/A 7", {"status": "shipped", "eta": "tomorrow"})
    created = await owner.client.post(
        f"/api/v1/agents/{agent_id}/tools",
        json=order_tool(web.base_url + "/orders/{order_id}?src=atende"),
    )
    assert created.status_code == 201, created.text
    fake.call_tool("order_status", {"order_id": "A 7", "verbose": True})
    fake.say("Seu pedido A 7 foi enviado e chega amanhã.")

    body = await ask(owner.client, agent_id, "Cadê meu pedido A 7?")
    assert body["answer"] == "Seu pedido A 7 foi enviado e chega amanhã."
    [received] = web.requests
    assert (received.method, received.path) == ("GET", "/orders/A 7")
    assert received.query == {"src": "atende", "verbose": "true"}
    assert received.headers["x-api-key"] == SECRET
    first, second = fake.completions()
    offered = [t["function"] for t in first.json["tools"]]
    expected = {"name": "order_status", "description": "Where an order is."}
    assert {**expected, "parameters": ORDER_SCHEMA} in offered
    assert json.loads(second.json["messages"][-1]["content"]) == {
        "status": "shipped",
        "eta": "tomorrow",
    }
    [call] = body["tool_calls"]  # type: ignore[misc]
    assert (call["name"], call["status"], call["error"]) == ("order_status", 200, None)
    assert call["arguments"] == {"order_id": "A 7", "verbose": True}
    assert call["latency_ms"] >= 0


async def test_post_tools_send_the_arguments_as_json(
    open_server: Server, owner: Tenant, fake: FakeOpenAI, web: FakeWeb
) -> None:
    agent_id = await openai_agent(owner, fake)
    web.page("/bookings", {"booked": True})
    schema = {
        "type": "object",
        "properties": {"day": {"type": "string"}, "people": {"type": "integer", "minimum": 1}},
        "required": ["day", "people"],
    }
    tool = {
        "name": "book",
        "description": "Books a table.",
        "parameters": schema,
        "method": "POST",
        "url": web.base_url + "/bookings",
    }
    assert (await owner.client.post(f"/api/v1/agents/{agent_id}/tools", json=tool)).is_success
    fake.call_tool("book", {"day": "sábado", "people": 0})  # breaks `minimum`
    fake.call_tool("book", {"day": "sábado", "people": 4})
    fake.say("Reservado!")
    body = await ask(owner.client, agent_id, "Mesa para 4 no sábado")
    assert body["answer"] == "Reservado!"
    [received] = web.requests  # the invalid call never left
    assert received.json == {"day": "sábado", "people": 4}
    refused, done = body["tool_calls"]  # type: ignore[misc]
    assert (
        refused["error"]
        == "invalid arguments for book at `people`: 0 is less than the minimum of 1"
    )
    assert done["result"] == '{"booked":true}'
    told = fake.completions()[1].json["messages"][-1]["content"]
    assert told.startswith("error: invalid arguments for book")


async def test_tool_failures_are_told_to_the_model_and_recorded(
    open_server: Server, owner: Tenant, fake: FakeOpenAI, web: FakeWeb
) -> None:
    agent_id = await openai_agent(owner, fake)
    web.page("/orders/X", {"detail": "database down"}, status=503)
    tool = order_tool(web.base_url + "/orders/{order_id}")
    assert (await owner.client.post(f"/api/v1/agents/{agent_id}/tools", json=tool)).is_success
    fake.call_tool("order_status", {"order_id": "X"})
    fake.call_tool("track_parcel", {"id": "X"})
    fake.say("Não consegui consultar agora.")
    body = await ask(owner.client, agent_id, "pedido X?")
    assert body["answer"] == "Não consegui consultar agora."
    failed, unknown = body["tool_calls"]  # type: ignore[misc]
    assert failed["status"] == 503
    assert failed["error"] == 'HTTP 503: {"detail":"database down"}'
    assert "there is no tool named 'track_parcel'" in unknown["error"]
    told = [c.json["messages"][-1]["content"] for c in fake.completions()[1:]]
    assert told[0] == 'error: the tool order_status failed (HTTP 503: {"detail":"database down"})'
    calls = await owner.client.get(f"/api/v1/agents/{agent_id}")  # the agent still answers
    assert calls.status_code == 200


async def test_loopback_tools_are_refused_by_default(
    server: Server, tenant: Tenant, fake: FakeOpenAI, web: FakeWeb
) -> None:
    agent_id = await openai_agent(tenant, fake)
    tool = order_tool(web.base_url + "/orders/{order_id}")
    assert (await tenant.client.post(f"/api/v1/agents/{agent_id}/tools", json=tool)).is_success
    fake.call_tool("order_status", {"order_id": "1"})
    fake.say("Vou verificar com a equipe.")
    body = await ask(tenant.client, agent_id, "pedido 1?")
    assert web.requests == []
    [call] = body["tool_calls"]  # type: ignore[misc]
    assert call["error"] == "refused: 127.0.0.1 is a loopback address."
    assert call["status"] is None
    assert "order_status: refused: 127.0.0.1 is a loopback address." in str(body["error"])


def test_requests_are_built_from_the_template_and_the_rest_of_the_arguments() -> None:
    spec = ToolSpec("t", "d", {"type": "object"})
    get = HttpTool(spec, "GET", "https://api.example/v1/{kind}/{id}?lang=pt", {"K": "v"}, 5)
    request = build_request(get, {"kind": "a/b", "id": 7, "q": "olá mundo", "n": None})
    assert request.url == "https://api.example/v1/a%2Fb/7?lang=pt&q=ol%C3%A1+mundo&n=null"
    assert request.headers["K"] == "v"
    assert request.json is None
    post = HttpTool(spec, "POST", "https://api.example/v1/{id}", {}, 5)
    sent = build_request(post, {"id": "x", "items": [1, 2]})
    assert (sent.url, sent.json) == ("https://api.example/v1/x", {"items": [1, 2]})


async def test_on_whatsapp_the_agent_calls_its_tool_and_the_call_is_recorded(
    open_server: Server, owner: Tenant, fake: FakeOpenAI, web: FakeWeb
) -> None:
    instance_id, agent_id = await agent_on_number(owner)
    switched = await owner.client.patch(
        f"/api/v1/agents/{agent_id}",
        json={"brain": "openai", "base_url": fake.base_url + "/v1", "model": "gpt-4o-mini"},
    )
    assert switched.status_code == 200, switched.text
    web.page("/orders/B2", {"status": "out for delivery"})
    tool = order_tool(web.base_url + "/orders/{order_id}")
    assert (await owner.client.post(f"/api/v1/agents/{agent_id}/tools", json=tool)).is_success
    fake.call_tool("order_status", {"order_id": "B2"})
    fake.say("Seu pedido B2 saiu para entrega!")

    await say(owner, instance_id, "e o pedido B2?")
    chat = await settle(owner, instance_id)
    assert chat[-1]["text"] == "Seu pedido B2 saiu para entrega!"
    assert web.last("GET", "/orders/B2").headers["x-api-key"] == SECRET
    conversation = (await owner.client.get("/api/v1/conversations")).json()["items"][0]
    calls = await owner.client.get(f"/api/v1/conversations/{conversation['id']}/llm-calls")
    [call] = calls.json()[0]["details"]["tool_calls"]
    assert (call["name"], call["status"], call["error"]) == ("order_status", 200, None)
    assert call["arguments"] == {"order_id": "B2"}
    assert json.loads(call["result"]) == {"status": "out for delivery"}
    assert call["latency_ms"] >= 0


def test_a_schema_that_cannot_check_arguments_refuses_the_call() -> None:
    spec = ToolSpec("t", "d", {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})
    check_user_arguments(spec, {})  # nothing to resolve
    with pytest.raises(RefusedCall, match="the parameters of t cannot be checked"):
        check_user_arguments(spec, {"a": 1})
