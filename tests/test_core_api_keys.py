"""API keys: shown once, stored hashed, scoped to one organisation, revocable."""

from datetime import datetime

import httpx

from atende.core.access import API_KEY_PREFIX
from tests.support.direct_db import problem_of
from tests.support.server import Server
from tests.support.tenants import Tenant, add_member


async def create_key(tenant: Tenant, name: str = "integration") -> dict[str, str]:
    response = await tenant.client.post("/api/v1/api-keys", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(server: Server, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


async def test_key_is_shown_once_and_listed_by_prefix(tenant: Tenant) -> None:
    created = await create_key(tenant, "  n8n  ")
    key = created["key"]
    assert key.startswith(API_KEY_PREFIX)
    assert len(key) > 40
    assert created["name"] == "n8n"
    assert key.startswith(created["prefix"])
    assert len(created["prefix"]) < len(key) // 2
    listing = await tenant.client.get("/api/v1/api-keys")
    assert listing.status_code == 200
    assert key not in listing.text
    (row,) = listing.json()
    assert "key" not in row
    assert row["prefix"] == created["prefix"]
    assert row["id"] == created["id"]
    assert row["last_used_at"] is None


async def test_bearer_key_works_without_csrf_and_revoked_key_is_401(
    server: Server, tenant: Tenant
) -> None:
    created = await create_key(tenant)
    async with bearer(server, created["key"]) as client:
        me = await client.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["org_id"] == tenant.org_id
        assert me.json()["via_api_key"] is True
        assert me.json()["user_id"] is None
        # An unsafe request with no CSRF token and no cookie at all: only the key's own rules apply.
        response = await client.post("/api/v1/api-keys", json={"name": "from a key"})
        assert response.status_code == 403
        assert problem_of(response)["type"] == "https://atende.dev/problems/forbidden"

        revoked = await tenant.client.delete(f"/api/v1/api-keys/{created['id']}")
        assert revoked.status_code == 204
        response = await client.get("/api/v1/me")
        assert response.status_code == 401
        assert problem_of(response)["type"] == "https://atende.dev/problems/not-authenticated"
    listing = (await tenant.client.get("/api/v1/api-keys")).json()
    assert listing[0]["revoked_at"] is not None
    again = await tenant.client.delete(f"/api/v1/api-keys/{created['id']}")
    assert again.status_code == 404


async def test_unknown_and_malformed_keys_are_401(server: Server) -> None:
    for key in (API_KEY_PREFIX + "x" * 43, "not-a-key", "two words", API_KEY_PREFIX):
        async with bearer(server, key) as client:
            response = await client.get("/api/v1/me")
        assert response.status_code == 401, key
        problem_of(response)


async def test_key_sees_only_its_organisation(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    await add_member(tenant, server.base_url, "operator")
    key_a = (await create_key(tenant))["key"]
    key_b = (await create_key(other_tenant))["key"]
    async with bearer(server, key_a) as client_a, bearer(server, key_b) as client_b:
        members_a = (await client_a.get("/api/v1/members")).json()
        members_b = (await client_b.get("/api/v1/members")).json()
        assert (await client_a.get("/api/v1/me")).json()["org_id"] == tenant.org_id
        assert (await client_b.get("/api/v1/me")).json()["org_id"] == other_tenant.org_id
        audit_b = await client_b.get("/api/v1/audit-log")
    assert {m["user_id"] for m in members_a} >= {tenant.user_id}
    assert len(members_a) == 2
    assert [m["user_id"] for m in members_b] == [other_tenant.user_id]
    assert audit_b.status_code == 200
    assert tenant.email not in audit_b.text
    assert all(entry["actor_user_id"] in (other_tenant.user_id, None) for entry in audit_b.json())


async def test_keys_cannot_manage_keys_or_members(server: Server, tenant: Tenant) -> None:
    operator, operator_id = await add_member(tenant, server.base_url, "operator")
    created = await create_key(tenant)
    async with bearer(server, created["key"]) as client:
        attempts = [
            client.get("/api/v1/api-keys"),
            client.post("/api/v1/api-keys", json={"name": "escalate"}),
            client.delete(f"/api/v1/api-keys/{created['id']}"),
            client.get("/api/v1/invitations"),
            client.post("/api/v1/invitations", json={"email": "x@example.com"}),
            client.patch(f"/api/v1/members/{operator_id}", json={"role": "admin"}),
            client.delete(f"/api/v1/members/{operator_id}"),
        ]
        for attempt in attempts:
            response = await attempt
            assert response.status_code == 403, response.text
            problem_of(response)
    listing = (await tenant.client.get("/api/v1/api-keys")).json()
    assert [(k["id"], k["revoked_at"]) for k in listing] == [(created["id"], None)]
    assert (await operator.get("/api/v1/me")).json()["role"] == "operator"
    await operator.aclose()


async def last_used(tenant: Tenant, key_id: str) -> str | None:
    (row,) = [k for k in (await tenant.client.get("/api/v1/api-keys")).json() if k["id"] == key_id]
    value: str | None = row["last_used_at"]
    return value


async def test_last_used_at_is_recorded(server: Server, tenant: Tenant) -> None:
    created = await create_key(tenant)
    assert await last_used(tenant, created["id"]) is None
    async with bearer(server, created["key"]) as client:
        # A write request (here refused, since keys cannot manage members) still used the key.
        response = await client.patch(f"/api/v1/members/{tenant.user_id}", json={"role": "admin"})
        assert response.status_code == 403
        written = await last_used(tenant, created["id"])
        assert written is not None
        stamp = datetime.fromisoformat(written)
        assert stamp.tzinfo is not None
        # Within the precision window further use does not rewrite it.
        assert (await client.get("/api/v1/me")).status_code == 200
        assert await last_used(tenant, created["id"]) == written


async def test_read_only_use_is_recorded_too(server: Server, tenant: Tenant) -> None:
    """A key used only for reading (a dashboard) must not look unused to the admin."""
    created = await create_key(tenant)
    async with bearer(server, created["key"]) as client:
        assert (await client.get("/api/v1/members")).status_code == 200
    assert await last_used(tenant, created["id"]) is not None
