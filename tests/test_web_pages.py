"""The web shell through HTTP against a real server: languages, sign-in, CSRF, roles, assets."""

import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from atende.web.i18n import placeholders
from tests.support.server import Server
from tests.support.tenants import PASSWORD, Tenant, add_member, unique_email

LOCALES_DIR = Path(__file__).parents[1] / "atende" / "web" / "locales"
HTML = {"Accept": "text/html"}


def plain_client(base_url: str) -> httpx.AsyncClient:
    """A browser-like client that adds no CSRF header by itself (forms carry the field)."""
    return httpx.AsyncClient(base_url=base_url, timeout=30, headers=HTML)


async def csrf_from_page(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


@contextlib.asynccontextmanager
async def signed_in(base_url: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """Signs in through the sign-in form, as a browser would."""
    async with plain_client(base_url) as client:
        token = await csrf_from_page(client)
        response = await client.post(
            "/login", data={"csrf_token": token, "email": email, "password": PASSWORD, "next": ""}
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/dashboard"
        yield client


# --- i18n ---------------------------------------------------------------------------------------


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    catalogs = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(LOCALES_DIR.glob("*.json"))
    }
    assert set(catalogs) == {"en", "pt_BR"}
    english = catalogs.pop("en")
    for locale, catalog in catalogs.items():
        assert set(catalog) == set(english), f"{locale}: {set(catalog) ^ set(english)}"
        for key, text in english.items():
            assert placeholders(catalog[key]) == placeholders(text), f"{locale}: {key}"
            assert catalog[key].strip(), f"{locale}: {key} is empty"


async def test_login_page_speaks_the_browsers_language(server: Server) -> None:
    async with plain_client(server.base_url) as client:
        portuguese = await client.get("/login", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
        english = await client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.5"})
        default = await client.get("/login")
    assert portuguese.status_code == 200
    assert '<html lang="pt-BR">' in portuguese.text
    assert "Entrar" in portuguese.text
    assert "Senha" in portuguese.text
    assert '<html lang="en">' in english.text
    assert "Password" in english.text
    assert '<html lang="en">' in default.text


async def test_language_switcher_sets_a_cookie_that_wins(server: Server) -> None:
    async with plain_client(server.base_url) as client:
        token = await csrf_from_page(client)
        switched = await client.post(
            "/lang", data={"csrf_token": token, "lang": "pt_BR", "next": "/login"}
        )
        assert switched.status_code == 303
        assert switched.headers["location"] == "/login"
        page = await client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="pt-BR">' in page.text


# --- signing in ---------------------------------------------------------------------------------


async def test_wrong_password_shows_the_form_again_with_401(server: Server, tenant: Tenant) -> None:
    async with plain_client(server.base_url) as client:
        token = await csrf_from_page(client)
        response = await client.post(
            "/login",
            data={"csrf_token": token, "email": tenant.email, "password": "wrong password"},
            headers={"Accept-Language": "pt-BR"},
        )
    assert response.status_code == 401
    assert 'action="/login"' in response.text
    assert "E-mail e senha não conferem" in response.text
    assert f'value="{tenant.email}"' in response.text


async def test_sign_in_by_form_then_pages_open(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        dashboard = await client.get("/dashboard")
        assert dashboard.status_code == 200
        assert re.search(r'sse-connect="/api/v1/events\?last_event_id=[1-9][0-9]*"', dashboard.text)
        assert "sse:member.joined" in dashboard.text
        activity = await client.get("/dashboard/activity")
        assert "Owner" in activity.text  # the owner's own sign-up is the first event
        for path in ("/settings/members", "/settings/invitations", "/settings/api-keys", "/inbox"):
            page = await client.get(path)
            assert page.status_code == 200, path
        token = client.cookies["atende_csrf"]
        out = await client.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303
        assert (await client.get("/dashboard")).status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/settings/members", "/login?next=/settings/members"),
        ("/dashboard", "/login"),
    ],
)
async def test_pages_send_strangers_to_sign_in(server: Server, target: str, expected: str) -> None:
    async with plain_client(server.base_url) as client:
        response = await client.get(target)
    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_next_must_be_a_local_path(server: Server, tenant: Tenant) -> None:
    async with plain_client(server.base_url) as client:
        token = await csrf_from_page(client)
        response = await client.post(
            "/login",
            data={
                "csrf_token": token,
                "email": tenant.email,
                "password": PASSWORD,
                "next": "//evil.example/steal",
            },
        )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"


async def test_sign_up_by_form_and_join_by_invitation(server: Server) -> None:
    async with plain_client(server.base_url) as owner:
        token = await csrf_from_page(owner, "/signup")
        email = unique_email("web-owner")
        created = await owner.post(
            "/signup",
            data={
                "csrf_token": token,
                "name": "Web Owner",
                "email": email,
                "password": PASSWORD,
                "organisation": "Padaria Pão Quente",
            },
        )
        assert created.status_code == 303, created.text
        invite = await owner.post(
            "/settings/invitations",
            data={"csrf_token": token, "email": unique_email("joiner"), "role": "operator"},
        )
        assert invite.status_code == 200, invite.text
        match = re.search(r'value="(http[^"]+/invite/[^"]+)"', invite.text)
        assert match, invite.text
        link = match.group(1).removeprefix(server.base_url)
    async with plain_client(server.base_url) as joiner:
        page = await joiner.get(link)
        assert page.status_code == 200
        assert "Padaria Pão Quente" in page.text
        assert "Operator" in page.text
        token = await csrf_from_page(joiner, link)
        joined = await joiner.post(
            link, data={"csrf_token": token, "name": "Joana", "password": PASSWORD}
        )
        assert joined.status_code == 303, joined.text
        members = await joiner.get("/settings/members")
        assert "Joana" in members.text
        assert "Web Owner" in members.text
        assert "/remove" not in members.text  # operators see no management controls
        used = await joiner.get(link, headers={"Accept-Language": "pt-BR"})
    assert used.status_code == 410
    assert "Este convite expirou" in used.text


async def test_unknown_invitation_link_is_a_clear_404(server: Server) -> None:
    async with plain_client(server.base_url) as client:
        response = await client.get("/invite/inv_not-a-real-token")
    assert response.status_code == 404
    assert "This invitation link is not valid" in response.text


# --- CSRF and roles -----------------------------------------------------------------------------


async def test_forms_without_csrf_token_are_refused(server: Server, tenant: Tenant) -> None:
    async with plain_client(server.base_url) as client:
        await client.get("/login")  # has the CSRF cookie, but the form omits the field
        login = await client.post("/login", data={"email": tenant.email, "password": PASSWORD})
    assert login.status_code == 403
    async with signed_in(server.base_url, tenant.email) as client:
        create = await client.post("/settings/api-keys", data={"name": "forged"})
        assert create.status_code == 403
        wrong = await client.post(
            "/settings/api-keys", data={"name": "forged", "csrf_token": "not-the-token"}
        )
        assert wrong.status_code == 403
        keys = await client.get("/settings/api-keys")
    assert "forged" not in keys.text


async def test_operator_gets_friendly_403_on_manager_pages(server: Server, tenant: Tenant) -> None:
    api_client, _user_id = await add_member(tenant, server.base_url, "operator")
    await api_client.aclose()
    operator_email = (await tenant.client.get("/api/v1/members")).json()
    email = next(m["email"] for m in operator_email if m["role"] == "operator")
    async with signed_in(server.base_url, email) as client:
        token = client.cookies["atende_csrf"]
        for path in ("/settings/api-keys", "/settings/invitations"):
            page = await client.get(path, headers={"Accept-Language": "pt-BR"})
            assert page.status_code == 403, path
            assert page.headers["content-type"].startswith("text/html")
            assert "Não permitido para a sua função" in page.text
        posts = {
            "/settings/api-keys": {"name": "sneaky"},
            f"/settings/members/{tenant.user_id}/remove": {},
            f"/settings/members/{tenant.user_id}/role": {"role": "operator"},
        }
        for path, data in posts.items():
            response = await client.post(path, data={"csrf_token": token, **data})
            assert response.status_code == 403, path
    members = (await tenant.client.get("/api/v1/members")).json()
    assert any(m["user_id"] == tenant.user_id and m["role"] == "owner" for m in members)


async def test_api_key_is_shown_once(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        token = client.cookies["atende_csrf"]
        created = await client.post("/settings/api-keys", data={"csrf_token": token, "name": "n8n"})
        match = re.search(r'value="(atk_[^"]+)"', created.text)
        assert match, created.text
        key = match.group(1)
        listing = await client.get("/settings/api-keys")
    assert key not in listing.text
    assert key[:10] in listing.text
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200


# --- assets, PWA, errors ------------------------------------------------------------------------


async def test_hashed_assets_are_immutable_and_gzipped(server: Server) -> None:
    async with plain_client(server.base_url) as client:
        page = await client.get("/login")
        urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        assert any(re.fullmatch(r"/static/htmx\.[0-9a-f]{12}\.js", u) for u in urls), urls
        assert any(re.fullmatch(r"/static/sse\.[0-9a-f]{12}\.js", u) for u in urls), urls
        total_gzip = 0
        for url in urls:
            response = await client.get(url, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200, url
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            total_gzip += int(response.headers.get("content-length", len(response.content)))
        css = next(u for u in urls if u.endswith(".css"))
        zipped = await client.get(css, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        wrong = await client.get(re.sub(r"\.[0-9a-f]{12}\.", ".000000000000.", css))
        assert wrong.status_code == 404
    assert total_gzip < 100_000


async def test_service_worker_and_manifest(server: Server) -> None:
    async with plain_client(server.base_url) as client:
        worker = await client.get("/sw.js")
        manifest = await client.get("/manifest.webmanifest")
        offline = await client.get("/offline")
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"
    assert "javascript" in worker.headers["content-type"]
    assert "/offline" in worker.text
    assert re.search(r"/static/app\.[0-9a-f]{12}\.css", worker.text)
    body = manifest.json()
    assert body["start_url"] == "/dashboard"
    assert body["display"] == "standalone"
    assert body["icons"][0]["src"].startswith("/static/icon.")
    assert "You are offline" in offline.text
    assert "Você está offline" in offline.text
    assert "csrf" not in offline.text.lower()


async def test_error_pages_are_translated(server: Server) -> None:
    async with plain_client(server.base_url) as client:
        missing = await client.get("/no/such/page", headers={"Accept-Language": "pt-BR"})
    assert missing.status_code == 404
    assert "Página não encontrada" in missing.text
    assert '<html lang="pt-BR">' in missing.text
