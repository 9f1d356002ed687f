"""The instances page and the sandbox phone through HTTP, as a browser uses them (forms + CSRF)."""

import re

import httpx

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member
from tests.test_web_pages import signed_in

PT = {"Accept-Language": "pt-BR"}
EN = {"Accept-Language": "en"}


def form_token(client: httpx.AsyncClient) -> str:
    return str(client.cookies["atende_csrf"])


async def create_by_form(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await client.post("/instances", data={"csrf_token": form_token(client), **fields})


async def instance_id_named(tenant: Tenant, name: str) -> int:
    listed = (await tenant.client.get("/api/v1/instances")).json()
    return int(next(i["id"] for i in listed if i["name"] == name))


async def test_instances_page_speaks_both_languages_and_starts_empty(
    server: Server, tenant: Tenant
) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        english = await client.get("/instances", headers=EN)
        portuguese = await client.get("/instances", headers=PT)
    assert english.status_code == 200
    assert "Connect a number" in english.text
    assert "Add a number" in english.text
    assert 'aria-current="page"' in english.text  # the navigation marks the section
    assert "Coming soon" not in english.text
    assert '<html lang="pt-BR">' in portuguese.text
    assert "Conecte um número" in portuguese.text
    assert "Adicionar número" in portuguese.text
    assert "sse:instance.status" in english.text


async def test_create_connect_shows_the_qr_as_svg_then_rename_and_delete(
    server: Server, tenant: Tenant
) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        created = await create_by_form(client, name="Loja Centro", provider="sandbox")
        assert created.status_code == 303, created.text
        instance_id = await instance_id_named(tenant, "Loja Centro")
        page = await client.get("/instances", headers=EN)
        assert "Loja Centro" in page.text
        assert "Disconnected" in page.text

        connect = await client.post(
            f"/instances/{instance_id}/connect", data={"csrf_token": form_token(client)}
        )
        assert connect.status_code == 303
        assert connect.headers["location"] == f"/instances?pair={instance_id}"
        panel_page = await client.get(connect.headers["location"], headers=PT)
        assert re.search(r'<svg role="img" viewBox="0 0 \d+ \d+" class="qr">', panel_page.text)
        assert "Aguardando leitura" in panel_page.text
        assert "data-countdown=" in panel_page.text
        fragment = await client.get(f"/instances/{instance_id}/pairing", headers=EN)
        assert fragment.status_code == 200
        assert "<svg" in fragment.text
        assert "Press “Scan the QR code” there" in fragment.text

        # The simulated phone scans the code from its own page: the panel says Connected.
        code = (await tenant.client.get(f"/api/v1/instances/{instance_id}")).json()["qr_code"]
        scan = await client.post(
            f"/sandbox/{instance_id}/scan", data={"csrf_token": form_token(client), "code": code}
        )
        assert scan.status_code == 303, scan.text
        fragment = await client.get(f"/instances/{instance_id}/pairing", headers=EN)
        assert "Connected" in fragment.text
        assert '<svg role="img"' not in fragment.text

        renamed = await client.post(
            f"/instances/{instance_id}/rename",
            data={"csrf_token": form_token(client), "name": "Loja Norte"},
        )
        assert renamed.status_code == 303
        assert "Loja Norte" in (await client.get("/instances/list")).text
        deleted = await client.post(
            f"/instances/{instance_id}/delete", data={"csrf_token": form_token(client)}
        )
        assert deleted.status_code == 303
    assert (await tenant.client.get(f"/api/v1/instances/{instance_id}")).status_code == 404


async def test_creation_errors_are_explained_in_the_form(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        evolution = await client.post(
            "/instances",
            data={
                "csrf_token": form_token(client),
                "name": "Evo",
                "provider": "evolution",
                "api_key": "secret-key-value",
            },
            headers=PT,
        )
        nameless = await create_by_form(client, name="  ", provider="sandbox")
    assert evolution.status_code == 422, evolution.text
    assert "Preencha: URL do servidor." in evolution.text
    assert "secret-key-value" not in evolution.text  # secrets are never echoed back
    assert 'value="Evo"' in evolution.text
    assert nameless.status_code == 422
    assert "Give the number a name" in nameless.text
    assert (await tenant.client.get("/api/v1/instances")).json() == []


async def test_operators_read_but_cannot_change(server: Server, tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/instances", json={"name": "Suporte"})
    instance_id = created.json()["id"]
    operator, _user_id = await add_member(tenant, server.base_url, "operator")
    page = await operator.get("/instances", headers=PT)
    assert page.status_code == 200
    assert "Suporte" in page.text
    assert "Só proprietários e administradores" in page.text
    assert f"/instances/{instance_id}/delete" not in page.text
    for path, data in {
        "/instances": {"name": "Sneaky", "provider": "sandbox"},
        f"/instances/{instance_id}/delete": {},
        f"/instances/{instance_id}/rename": {"name": "Renamed"},
        f"/instances/{instance_id}/connect": {},
    }.items():
        response = await operator.post(path, data=data, headers={"Accept": "text/html"})
        assert response.status_code == 403, path
    listed = (await tenant.client.get("/api/v1/instances")).json()
    assert [i["name"] for i in listed] == ["Suporte"]
    assert listed[0]["status"] == "disconnected"


async def test_forms_need_the_csrf_token(server: Server, tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/instances", json={"name": "Guarded"})
    instance_id = created.json()["id"]
    async with signed_in(server.base_url, tenant.email) as client:
        for path, data in {
            "/instances": {"name": "Forged", "provider": "sandbox"},
            f"/instances/{instance_id}/delete": {},
            f"/instances/{instance_id}/connect": {},
            f"/sandbox/{instance_id}/messages": {"customer": "+5511987654321", "text": "hi"},
        }.items():
            missing = await client.post(path, data=data)
            assert missing.status_code == 403, path
            wrong = await client.post(path, data={**data, "csrf_token": "not-the-token"})
            assert wrong.status_code == 403, path
    listed = (await tenant.client.get("/api/v1/instances")).json()
    assert [(i["name"], i["status"]) for i in listed] == [("Guarded", "disconnected")]


async def test_sandbox_phone_pairs_and_chats(server: Server, tenant: Tenant) -> None:
    empty = await tenant.client.get("/sandbox", headers=PT)
    assert "Nenhum número sandbox ainda" in empty.text
    created = await tenant.client.post("/api/v1/instances", json={"name": "Balcão"})
    instance_id = created.json()["id"]
    async with signed_in(server.base_url, tenant.email) as client:
        unpaired = await client.get(f"/sandbox/{instance_id}", headers=EN)
        assert "This phone is not paired." in unpaired.text
        assert "press Connect on “Balcão”" in unpaired.text
        await client.post(
            f"/instances/{instance_id}/connect", data={"csrf_token": form_token(client)}
        )
        waiting = await client.get("/sandbox", headers=PT)
        assert "Ler o QR code" in waiting.text
        code = re.search(r'name="code" value="([^"]+)"', waiting.text)
        assert code
        stale = await client.post(
            f"/sandbox/{instance_id}/scan",
            data={"csrf_token": form_token(client), "code": "stale"},
            headers=PT,
        )
        assert stale.status_code == 409
        assert "não é mais o atual" in stale.text
        scanned = await client.post(
            f"/sandbox/{instance_id}/scan",
            data={"csrf_token": form_token(client), "code": code.group(1)},
        )
        assert scanned.status_code == 303

        customer = "+5511912345678"
        sent = await client.post(
            f"/sandbox/{instance_id}/messages",
            data={
                "csrf_token": form_token(client),
                "customer": customer,
                "name": "Ana",
                "text": "Vocês abrem sábado?",
            },
            headers={"HX-Request": "true"},
        )
        assert sent.status_code == 200, sent.text
        assert "Vocês abrem sábado?" in sent.text
        assert 'class="bubble mine"' in sent.text
        chat = await client.get(f"/sandbox/{instance_id}?customer={customer}", headers=PT)
        assert "Vocês abrem sábado?" in chat.text
        assert "sse:message.created" in chat.text
        assert "Mensagem" in chat.text  # the composer
        read = await client.post(
            f"/sandbox/{instance_id}/read",
            data={"csrf_token": form_token(client), "customer": customer},
        )
        assert read.status_code == 204
    stored = (await tenant.client.get(f"/api/v1/sandbox/{instance_id}/messages")).json()
    assert [(c["customer"], [m["text"] for m in c["messages"]]) for c in stored] == [
        (customer, ["Vocês abrem sábado?"])
    ]
