"""Tenants for tests: an organisation with a signed-in owner, as an HTTP client."""

import secrets
from dataclasses import dataclass, field

import httpx

PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    client: httpx.AsyncClient
    org_id: int
    user_id: int
    email: str
    password: str = PASSWORD
    # Clients of members added through this tenant; closed with it.
    member_clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def aclose(self) -> None:
        for client in [self.client, *self.member_clients]:
            await client.aclose()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def session_client(base_url: str) -> httpx.AsyncClient:
    """A client that behaves like our pages: echoes the CSRF cookie in the header."""

    async def add_csrf(request: httpx.Request) -> None:
        token = client.cookies.get("atende_csrf")
        if token and request.method not in ("GET", "HEAD", "OPTIONS"):
            request.headers.setdefault("X-CSRF-Token", token)

    client = httpx.AsyncClient(base_url=base_url, timeout=30, event_hooks={"request": [add_csrf]})
    return client


async def sign_up(base_url: str, *, organisation: str = "Acme") -> Tenant:
    client = session_client(base_url)
    email = unique_email("owner")
    response = await client.post(
        "/api/v1/auth/signup",
        json={"email": email, "password": PASSWORD, "name": "Owner", "organisation": organisation},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(client, body["org_id"], body["user_id"], email)


async def sign_in(base_url: str, email: str, password: str = PASSWORD) -> httpx.AsyncClient:
    client = session_client(base_url)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client


async def add_member(owner: Tenant, base_url: str, role: str) -> tuple[httpx.AsyncClient, int]:
    """Invites a new person with `role`, who signs up through the link; returns their client."""
    email = unique_email(role)
    invite = await owner.client.post("/api/v1/invitations", json={"email": email, "role": role})
    assert invite.status_code == 201, invite.text
    token = invite.json()["url"].rsplit("/", 1)[1]
    client = session_client(base_url)
    response = await client.post(
        f"/api/v1/invitations/{token}/accept",
        json={"password": PASSWORD, "name": role.title()},
    )
    assert response.status_code == 200, response.text
    owner.member_clients.append(client)
    return client, response.json()["user_id"]
