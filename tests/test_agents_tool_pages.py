"""The agent page's tools section, through HTTP as a browser uses it (forms + CSRF): list,
add, edit and delete with precise refusals, read-only for operators, closed to other
organisations."""

import json

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member
from tests.test_agents_api import new_agent
from tests.test_agents_http_tools import ORDER_SCHEMA, SECRET, order_tool
from tests.test_agents_pages import EN, PT, token
from tests.test_web_pages import signed_in


async def test_the_editor_lists_adds_edits_and_deletes_tools(
    server: Server, tenant: Tenant
) -> None:
    agent = await new_agent(tenant.client)
    base = f"/agents/{agent['id']}/tools"
    form = {
        "name": "order_status",
        "description": "Where an order is.",
        "method": "GET",
        "url": "https://shop.example/o/{order_id}",
        "parameters": json.dumps(ORDER_SCHEMA),
        "headers": f"X-Api-Key: {SECRET}\nX-Shop: azul",
        "timeout_seconds": "5",
    }
    async with signed_in(server.base_url, tenant.email) as client:
        empty = await client.get(f"/agents/{agent['id']}", headers=EN)
        assert "No tools yet." in empty.text
        assert f'action="{base}"' in empty.text
        broken = await client.post(
            base, data={"csrf_token": token(client), **form, "parameters": "{nope"}, headers=EN
        )
        assert broken.status_code == 422
        assert "The parameters are not valid JSON." in broken.text
        assert "shop.example/o/{order_id}" in broken.text  # the form comes back filled
        not_schema = await client.post(
            base,
            data={"csrf_token": token(client), **form, "parameters": '{"type": "objekt"}'},
            headers=PT,
        )
        assert not_schema.status_code == 422
        assert "Não foi possível salvar esta ferramenta" in not_schema.text
        assert "not a valid JSON Schema" in not_schema.text
        added = await client.post(base, data={"csrf_token": token(client), **form})
        assert added.status_code == 303, added.text
        [tool] = (await tenant.client.get(f"/api/v1/agents/{agent['id']}/tools")).json()
        assert tool["headers"] == {"X-Api-Key": "••••9876", "X-Shop": "••••"}

        page = await client.get(f"/agents/{agent['id']}", headers=PT)
        assert "Ferramentas" in page.text
        assert "order_status" in page.text
        assert SECRET not in page.text
        edited = await client.post(
            f"{base}/{tool['id']}",
            data={
                "csrf_token": token(client),
                **form,
                "description": "Rastreia pedidos.",
                "headers": "",
                "remove_header": "X-Shop",
            },
        )
        assert edited.status_code == 303, edited.text
        [changed] = (await tenant.client.get(f"/api/v1/agents/{agent['id']}/tools")).json()
        assert changed["description"] == "Rastreia pedidos."
        assert changed["headers"] == {"X-Api-Key": "••••9876"}
        removed = await client.post(
            f"{base}/{tool['id']}/delete", data={"csrf_token": token(client)}
        )
        assert removed.status_code == 303
    assert (await tenant.client.get(f"/api/v1/agents/{agent['id']}/tools")).json() == []


async def test_operators_see_tools_but_cannot_change_them(server: Server, tenant: Tenant) -> None:
    agent = await new_agent(tenant.client)
    tool = order_tool("https://shop.example/o/{order_id}")
    assert (await tenant.client.post(f"/api/v1/agents/{agent['id']}/tools", json=tool)).is_success
    operator, _ = await add_member(tenant, server.base_url, "operator")
    try:
        assert (await operator.get(f"/api/v1/agents/{agent['id']}/tools")).status_code == 200
        refused = await operator.post(f"/api/v1/agents/{agent['id']}/tools", json=tool)
        assert refused.status_code == 403
    finally:
        await operator.aclose()


async def test_another_organisation_cannot_touch_the_tools_through_the_pages(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    agent = await new_agent(tenant.client)
    tool = order_tool("https://shop.example/o/{order_id}")
    created = await tenant.client.post(f"/api/v1/agents/{agent['id']}/tools", json=tool)
    base = f"/agents/{agent['id']}/tools"
    async with signed_in(server.base_url, other_tenant.email) as client:
        for path in (
            base,
            f"{base}/{created.json()['id']}",
            f"{base}/{created.json()['id']}/delete",
        ):
            form = {
                "csrf_token": token(client),
                "name": "x",
                "description": "y",
                "url": "https://e.x/",
            }
            response = await client.post(path, data=form)
            assert response.status_code == 404, (path, response.text)
    [kept] = (await tenant.client.get(f"/api/v1/agents/{agent['id']}/tools")).json()
    assert kept["description"] == "Where an order is."
