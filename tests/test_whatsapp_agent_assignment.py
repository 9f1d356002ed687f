"""A number is answered by one agent of its own organisation, or by none."""

from tests.support.tenants import Tenant


async def test_assign_and_unassign_an_agent(tenant: Tenant, other_tenant: Tenant) -> None:
    instance = (await tenant.client.post("/api/v1/instances", json={"name": "Loja"})).json()
    agent = (await tenant.client.post("/api/v1/agents", json={"name": "Ana"})).json()
    foreign = (await other_tenant.client.post("/api/v1/agents", json={"name": "Outro"})).json()
    url = f"/api/v1/instances/{instance['id']}"

    assigned = await tenant.client.patch(url, json={"agent_id": agent["id"]})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["agent_id"] == agent["id"]

    renamed = await tenant.client.patch(url, json={"name": "Loja Centro"})
    assert renamed.json()["agent_id"] == agent["id"]  # untouched when not sent

    refused = await tenant.client.patch(url, json={"agent_id": foreign["id"]})
    assert refused.status_code == 422
    assert refused.json()["field"] == "agent_id"
    assert (await tenant.client.get(url)).json()["agent_id"] == agent["id"]

    cleared = await tenant.client.patch(url, json={"agent_id": None})
    assert cleared.json()["agent_id"] is None
