"""CSRF: unsafe cookie-authenticated or form requests need the token; API keys do not."""

import httpx
import pytest

from tests.support.direct_db import problem_of
from tests.support.server import Server
from tests.support.tenants import Tenant

CSRF_FAILED = "https://atende.dev/problems/csrf-failed"


def raw_client(server: Server, tenant: Tenant) -> httpx.AsyncClient:
    """The tenant's cookies, without the hook that echoes the CSRF token."""
    return httpx.AsyncClient(base_url=server.base_url, cookies=tenant.client.cookies, timeout=30)


async def key_names(tenant: Tenant) -> list[str]:
    response = await tenant.client.get("/api/v1/api-keys")
    assert response.status_code == 200
    return [k["name"] for k in response.json()]


@pytest.mark.parametrize("token", [None, "", "wrong-token", "x" * 200])
async def test_missing_or_wrong_token_is_403_and_changes_nothing(
    server: Server, tenant: Tenant, token: str | None
) -> None:
    headers = {} if token is None else {"X-CSRF-Token": token}
    async with raw_client(server, tenant) as client:
        response = await client.post("/api/v1/api-keys", json={"name": "forged"}, headers=headers)
        assert response.status_code == 403
        assert problem_of(response)["type"] == CSRF_FAILED
        response = await client.delete(f"/api/v1/members/{tenant.user_id}", headers=headers)
        assert response.status_code == 403
        response = await client.post("/api/v1/auth/logout", headers=headers)
        assert response.status_code == 403
    assert await key_names(tenant) == []
    assert (await tenant.client.get("/api/v1/me")).status_code == 200  # still signed in


async def test_the_right_token_passes(server: Server, tenant: Tenant) -> None:
    token = tenant.client.cookies.get("atende_csrf")
    assert token
    async with raw_client(server, tenant) as client:
        response = await client.post(
            "/api/v1/api-keys", json={"name": "real"}, headers={"X-CSRF-Token": token}
        )
    assert response.status_code == 201
    assert await key_names(tenant) == ["real"]


async def test_form_post_without_token_is_403(server: Server, tenant: Tenant) -> None:
    async with raw_client(server, tenant) as client:
        response = await client.post("/api/v1/api-keys", data={"name": "form"})
        assert response.status_code == 403
        assert problem_of(response)["type"] == CSRF_FAILED
        response = await client.post(
            "/api/v1/api-keys", data={"name": "form", "csrf_token": "wrong"}
        )
        assert response.status_code == 403
    # A form needs the token even without any session (login CSRF).
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        response = await anonymous.post(
            "/api/v1/auth/login", data={"email": tenant.email, "password": tenant.password}
        )
        assert response.status_code == 403
        assert problem_of(response)["type"] == CSRF_FAILED
        response = await anonymous.post(
            "/api/v1/auth/login",
            content=b'{"email": "a@b.c", "password": "x"}',
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 403
    assert await key_names(tenant) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
    ],
)
async def test_cross_site_origin_is_403_even_with_the_token(
    server: Server, tenant: Tenant, headers: dict[str, str]
) -> None:
    response = await tenant.client.post("/api/v1/api-keys", json={"name": "x"}, headers=headers)
    assert response.status_code == 403
    assert problem_of(response)["type"] == CSRF_FAILED
    assert await key_names(tenant) == []


async def test_same_origin_header_passes(server: Server, tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/api/v1/api-keys", json={"name": "same"}, headers={"Origin": server.base_url}
    )
    assert response.status_code == 201


async def test_bearer_requests_need_no_token(server: Server, tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/api-keys", json={"name": "ci"})
    key = created.json()["key"]
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        # Reaches authorisation (403 forbidden for keys), not the CSRF check.
        response = await client.post("/api/v1/invitations", json={"email": "a@example.com"})
        assert response.status_code == 403
        assert problem_of(response)["type"] == "https://atende.dev/problems/forbidden"
        response = await client.post("/api/v1/auth/logout")
        assert response.status_code == 204


async def test_json_sign_in_needs_no_token(server: Server, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": tenant.email, "password": tenant.password}
        )
    assert response.status_code == 200
