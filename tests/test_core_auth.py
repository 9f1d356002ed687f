"""Sign-up, sign-in, sign-out and the session cookie, against the real server."""

import secrets
from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from sqlalchemy import update

from atende.bootstrap import create_user_in
from atende.core.db import utcnow
from atende.core.models import Role, UserSession
from atende.core.security import token_hash
from atende.core.settings import Settings
from tests.support.direct_db import direct_session, problem_of
from tests.support.server import Server, start_server, stop_server
from tests.support.tenants import PASSWORD, Tenant, sign_in, unique_email

SESSION = "atende_session"


def session_set_cookie(response: httpx.Response) -> SimpleCookie:
    headers = [v for v in response.headers.get_list("set-cookie") if v.startswith(SESSION + "=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers[0])
    return cookie


async def test_sign_up_creates_an_owner_who_is_signed_in(server: Server) -> None:
    email = unique_email("signup")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/signup",
            json={"email": email, "password": PASSWORD, "name": "Ana", "organisation": "Padaria"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["role"] == "owner"
        assert body["email"] == email
        assert body["via_api_key"] is False
        assert response.headers["x-csrf-token"]
        me = await client.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json() == body


async def test_sign_up_twice_with_one_email_is_a_conflict(server: Server, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/signup",
            json={"email": tenant.email.upper(), "password": PASSWORD, "organisation": "Again"},
        )
    assert response.status_code == 409
    assert problem_of(response)["type"].endswith("/conflict")  # type: ignore[union-attr]


async def test_sign_in_with_the_right_password(server: Server, tenant: Tenant) -> None:
    client = await sign_in(server.base_url, tenant.email.upper())
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["user_id"] == tenant.user_id
    assert me.json()["org_id"] == tenant.org_id
    await client.aclose()


@pytest.mark.parametrize("which", ["wrong password", "unknown e-mail"])
async def test_wrong_credentials_are_401_problem(
    server: Server, tenant: Tenant, which: str
) -> None:
    email = tenant.email if which == "wrong password" else unique_email("nobody")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "not the password"}
        )
        assert response.status_code == 401
        problem = problem_of(response)
        assert problem["type"] == "https://atende.dev/problems/invalid-credentials"
        assert problem["title"]
        assert problem["detail"]
        assert not [c for c in response.headers.get_list("set-cookie") if SESSION in c]
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_sign_out_ends_the_session_on_the_server(server: Server, tenant: Tenant) -> None:
    client = await sign_in(server.base_url, tenant.email)
    token = client.cookies.get(SESSION)
    assert token
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401
    # Replaying the old cookie (as a thief who copied it would) no longer works either.
    async with httpx.AsyncClient(base_url=server.base_url, cookies={SESSION: token}) as thief:
        response = await thief.get("/api/v1/me")
    assert response.status_code == 401
    problem_of(response)
    await client.aclose()
    # The owner's other session is untouched.
    assert (await tenant.client.get("/api/v1/me")).status_code == 200


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "", "x" * 4000, "atk_" + secrets.token_urlsafe(32), secrets.token_urlsafe(32)],
)
async def test_forged_session_cookies_are_401(server: Server, cookie: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, cookies={SESSION: cookie}) as client:
        response = await client.get("/api/v1/me")
        assert response.status_code == 401
        assert problem_of(response)["type"] == "https://atende.dev/problems/not-authenticated"
        members = await client.get("/api/v1/members")
        assert members.status_code == 401


async def test_expired_session_is_401(server: Server, tenant: Tenant) -> None:
    client = await sign_in(server.base_url, tenant.email)
    token = client.cookies.get(SESSION)
    assert token
    assert (await client.get("/api/v1/me")).status_code == 200
    async with direct_session(server.database_url) as session:
        result = await session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    problem_of(response)
    await client.aclose()


async def test_session_cookie_flags(server: Server, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD}
        )
    assert response.status_code == 200
    morsel = session_set_cookie(response)[SESSION]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) > 0
    # Default `auto` over plain HTTP: not Secure (the browser would drop it otherwise).
    assert not morsel["secure"]


# --- a server with sign-up disabled and Secure cookies always -------------------------------


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("closed")
    srv = start_server(
        data_dir,
        f"sqlite+aiosqlite:///{data_dir / 'atende.db'}",
        signup_enabled="false",
        cookie_secure="always",
    )
    yield srv
    stop_server(srv)


async def test_sign_up_disabled_is_403(closed_server: Server) -> None:
    async with httpx.AsyncClient(base_url=closed_server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/signup",
            json={"email": unique_email(), "password": PASSWORD, "organisation": "Nope"},
        )
    assert response.status_code == 403
    assert problem_of(response)["type"] == "https://atende.dev/problems/signup-disabled"
    assert not response.headers.get_list("set-cookie") or all(
        SESSION not in c for c in response.headers.get_list("set-cookie")
    )


async def test_secure_cookie_when_configured_always(closed_server: Server) -> None:
    email = unique_email("secure")
    settings = Settings(
        database_url=closed_server.database_url,
        data_dir=closed_server.data_dir,
        secret_key=closed_server.env["ATENDE_SECRET_KEY"],
    )
    await create_user_in(
        settings,
        email=email,
        name="Sec",
        password=PASSWORD,
        organisation="Closed Co",
        role=Role.owner,
    )
    async with httpx.AsyncClient(base_url=closed_server.base_url) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    morsel = session_set_cookie(response)[SESSION]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"


async def test_person_in_two_organisations_switches_between_them(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    invite = await other_tenant.client.post(
        "/api/v1/invitations", json={"email": tenant.email, "role": "admin"}
    )
    token = invite.json()["url"].rsplit("/", 1)[1]
    joined = await tenant.client.post(
        f"/api/v1/invitations/{token}/accept", json={"password": tenant.password}
    )
    assert joined.status_code == 200, joined.text
    orgs = (await tenant.client.get("/api/v1/me/organisations")).json()
    assert {o["org_id"]: o["role"] for o in orgs} == {
        tenant.org_id: "owner",
        other_tenant.org_id: "admin",
    }
    assert [o["org_id"] for o in orgs if o["current"]] == [other_tenant.org_id]
    switched = await tenant.client.post("/api/v1/auth/switch", json={"org_id": tenant.org_id})
    assert switched.status_code == 200
    assert (await tenant.client.get("/api/v1/me")).json()["org_id"] == tenant.org_id
    # An organisation the person does not belong to is not found, and nothing changes.
    stranger = await tenant.client.post("/api/v1/auth/switch", json={"org_id": 10**9})
    assert stranger.status_code == 404
    assert (await tenant.client.get("/api/v1/me")).json()["org_id"] == tenant.org_id
