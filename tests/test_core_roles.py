"""Roles: what owners, admins and operators may do with members, invitations and API keys."""

import httpx

from tests.support.direct_db import problem_of
from tests.support.server import Server
from tests.support.tenants import Tenant, add_member, unique_email


async def role_of(client: httpx.AsyncClient) -> str:
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    return str(me.json()["role"])


async def members_of(tenant: Tenant) -> dict[int, str]:
    response = await tenant.client.get("/api/v1/members")
    assert response.status_code == 200
    return {m["user_id"]: m["role"] for m in response.json()}


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert problem_of(response)["type"] == "https://atende.dev/problems/forbidden"


async def test_operator_cannot_manage_keys_invitations_or_members(
    server: Server, tenant: Tenant
) -> None:
    operator, operator_id = await add_member(tenant, server.base_url, "operator")
    _other, other_id = await add_member(tenant, server.base_url, "operator")
    key = await tenant.client.post("/api/v1/api-keys", json={"name": "owner's"})
    invitation = await tenant.client.post("/api/v1/invitations", json={"email": unique_email()})
    assert key.status_code == invitation.status_code == 201

    assert await role_of(operator) == "operator"
    assert_forbidden(await operator.get("/api/v1/api-keys"))
    assert_forbidden(await operator.post("/api/v1/api-keys", json={"name": "mine"}))
    assert_forbidden(await operator.delete(f"/api/v1/api-keys/{key.json()['id']}"))
    assert_forbidden(await operator.get("/api/v1/invitations"))
    assert_forbidden(
        await operator.post("/api/v1/invitations", json={"email": unique_email(), "role": "admin"})
    )
    assert_forbidden(await operator.delete(f"/api/v1/invitations/{invitation.json()['id']}"))
    for target in (other_id, operator_id, tenant.user_id):
        assert_forbidden(await operator.patch(f"/api/v1/members/{target}", json={"role": "admin"}))
        assert_forbidden(await operator.delete(f"/api/v1/members/{target}"))
    assert_forbidden(await operator.get("/api/v1/audit-log"))

    # Nothing changed: one key (still active), the invitation, the same roles.
    keys = (await tenant.client.get("/api/v1/api-keys")).json()
    assert [(k["name"], k["revoked_at"]) for k in keys] == [("owner's", None)]
    invitations = (await tenant.client.get("/api/v1/invitations")).json()
    assert [i["id"] for i in invitations] == [invitation.json()["id"]]
    assert await members_of(tenant) == {
        tenant.user_id: "owner",
        operator_id: "operator",
        other_id: "operator",
    }
    # Operators still see their team.
    assert (await operator.get("/api/v1/members")).status_code == 200
    await operator.aclose()
    await _other.aclose()


async def test_admin_manages_but_cannot_grant_or_take_ownership(
    server: Server, tenant: Tenant
) -> None:
    admin, admin_id = await add_member(tenant, server.base_url, "admin")
    operator, operator_id = await add_member(tenant, server.base_url, "operator")
    assert await role_of(admin) == "admin"

    created = await admin.post("/api/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    assert (await admin.get("/api/v1/api-keys")).status_code == 200
    assert (await admin.delete(f"/api/v1/api-keys/{created.json()['id']}")).status_code == 204
    invitation = await admin.post(
        "/api/v1/invitations", json={"email": unique_email(), "role": "admin"}
    )
    assert invitation.status_code == 201
    assert (await admin.delete(f"/api/v1/invitations/{invitation.json()['id']}")).status_code == 204

    assert_forbidden(
        await admin.post("/api/v1/invitations", json={"email": unique_email(), "role": "owner"})
    )
    assert_forbidden(await admin.patch(f"/api/v1/members/{operator_id}", json={"role": "owner"}))
    assert_forbidden(await admin.patch(f"/api/v1/members/{admin_id}", json={"role": "owner"}))
    assert_forbidden(
        await admin.patch(f"/api/v1/members/{tenant.user_id}", json={"role": "operator"})
    )
    assert_forbidden(await admin.delete(f"/api/v1/members/{tenant.user_id}"))

    response = await admin.patch(f"/api/v1/members/{operator_id}", json={"role": "admin"})
    assert response.status_code == 204
    assert await role_of(operator) == "admin"
    response = await admin.patch(f"/api/v1/members/{operator_id}", json={"role": "operator"})
    assert response.status_code == 204
    assert await role_of(operator) == "operator"
    assert (await admin.delete(f"/api/v1/members/{operator_id}")).status_code == 204
    assert (await operator.get("/api/v1/me")).status_code == 401  # removed: session ends
    assert await members_of(tenant) == {tenant.user_id: "owner", admin_id: "admin"}
    await admin.aclose()
    await operator.aclose()


async def test_the_last_owner_cannot_be_demoted_or_removed(server: Server, tenant: Tenant) -> None:
    for attempt in (
        tenant.client.patch(f"/api/v1/members/{tenant.user_id}", json={"role": "admin"}),
        tenant.client.delete(f"/api/v1/members/{tenant.user_id}"),
    ):
        response = await attempt
        assert response.status_code == 409, response.text
        assert problem_of(response)["type"] == "https://atende.dev/problems/conflict"
    assert await members_of(tenant) == {tenant.user_id: "owner"}

    # With a second owner, one of them may step down; then the other is the last again.
    second, second_id = await add_member(tenant, server.base_url, "owner")
    assert await role_of(second) == "owner"
    response = await second.patch(f"/api/v1/members/{second_id}", json={"role": "admin"})
    assert response.status_code == 204
    assert await role_of(second) == "admin"
    response = await tenant.client.patch(
        f"/api/v1/members/{tenant.user_id}", json={"role": "admin"}
    )
    assert response.status_code == 409
    response = await tenant.client.patch(f"/api/v1/members/{second_id}", json={"role": "owner"})
    assert response.status_code == 204
    assert (await second.delete(f"/api/v1/members/{tenant.user_id}")).status_code == 204
    assert (await tenant.client.get("/api/v1/me")).status_code == 401
    response = await second.delete(f"/api/v1/members/{second_id}")
    assert response.status_code == 409
    assert await role_of(second) == "owner"
    await second.aclose()


async def test_roles_are_reflected_in_me(server: Server, tenant: Tenant) -> None:
    member, member_id = await add_member(tenant, server.base_url, "operator")
    for role in ("admin", "owner", "operator"):
        response = await tenant.client.patch(f"/api/v1/members/{member_id}", json={"role": role})
        assert response.status_code == 204
        me = (await member.get("/api/v1/me")).json()
        assert (me["role"], me["user_id"], me["org_id"]) == (role, member_id, tenant.org_id)
    assert await role_of(tenant.client) == "owner"
    await member.aclose()


async def test_unknown_role_is_422(tenant: Tenant) -> None:
    response = await tenant.client.patch(
        f"/api/v1/members/{tenant.user_id}", json={"role": "superuser"}
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"]
