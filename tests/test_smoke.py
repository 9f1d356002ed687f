from tests.support.server import Server
from tests.support.tenants import Tenant, add_member


async def test_owner_invites_operator(server: Server, tenant: Tenant) -> None:
    client, user_id = await add_member(tenant, server.base_url, "operator")
    me = await client.get("/api/v1/me")
    assert me.json()["role"] == "operator"
    members = await tenant.client.get("/api/v1/members")
    assert user_id in [m["user_id"] for m in members.json()]
    await client.aclose()
