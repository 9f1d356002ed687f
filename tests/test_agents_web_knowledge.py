"""Web pages as knowledge (`kind: url`), on both databases: fetched through the outbound guard
(loopback refused by default, allowed on a server configured so), the main text indexed and
answered from, re-indexing fetching again; each failure a precise 4xx with nothing saved; the
editor's URL form."""

from collections.abc import AsyncIterator

import pytest

from tests.support.direct_db import problem_of
from tests.support.fake_http import Scripted
from tests.support.fake_web import FakeWeb
from tests.support.outbound import MAX_PAGE_BYTES
from tests.support.server import Server
from tests.support.tenants import Tenant, sign_up
from tests.test_agents_api import ask, new_agent
from tests.test_agents_pages import EN, token
from tests.test_web_pages import signed_in

PAGE = """<!doctype html><html lang="pt-BR"><head><title>Trocas | Loja Azul</title></head>
<body><nav><a href="/">Início</a> <a href="/blog">Blog</a></nav>
<main><article><h1>Política de trocas</h1>
<p>Você pode trocar qualquer produto em até 30 dias corridos após a entrega, com a nota fiscal.
A troca é gratuita pelos Correios.</p>
<p>Produtos personalizados não podem ser trocados, exceto com defeito de fabricação.</p>
</article></main><footer>© Loja Azul — todos os direitos reservados</footer></body></html>"""


@pytest.fixture
async def owner(open_server: Server) -> AsyncIterator[Tenant]:
    tenant = await sign_up(open_server.base_url)
    yield tenant
    await tenant.aclose()


async def sources(tenant: Tenant, agent_id: object) -> list[dict[str, object]]:
    response = await tenant.client.get(f"/api/v1/agents/{agent_id}/knowledge")
    assert response.status_code == 200
    body: list[dict[str, object]] = response.json()
    return body


async def test_loopback_pages_are_refused_by_default(
    server: Server, tenant: Tenant, web: FakeWeb
) -> None:
    agent = await new_agent(tenant.client)
    url = web.page("/trocas", PAGE.encode())
    response = await tenant.client.post(
        f"/api/v1/agents/{agent['id']}/knowledge", json={"kind": "url", "url": url}
    )
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["type"] == "https://atende.dev/problems/outbound-refused"
    assert problem["detail"] == "refused: 127.0.0.1 is a loopback address."
    assert problem["field"] == "url"
    assert web.requests == []
    assert await sources(tenant, agent["id"]) == []


async def test_only_http_urls_are_taken(server: Server, tenant: Tenant) -> None:
    agent = await new_agent(tenant.client)
    for url in ("file:///etc/passwd", "gopher://example.com/", ""):
        response = await tenant.client.post(
            f"/api/v1/agents/{agent['id']}/knowledge", json={"kind": "url", "url": url}
        )
        assert response.status_code == 422, (url, response.text)
    assert await sources(tenant, agent["id"]) == []


async def test_a_page_is_read_indexed_and_answered_from(owner: Tenant, web: FakeWeb) -> None:
    agent = await new_agent(owner.client)
    url = web.page("/trocas", PAGE.encode())
    response = await owner.client.post(
        f"/api/v1/agents/{agent['id']}/knowledge", json={"kind": "url", "url": url}
    )
    assert response.status_code == 201, response.text
    source = response.json()
    assert (source["kind"], source["url"], source["status"]) == ("url", url, "ready")
    assert source["title"] == "Política de trocas"  # the headline, as trafilatura reads it
    assert source["chunk_count"] >= 1
    assert "text/html" in web.requests[0].headers["accept"]

    answer = await ask(owner.client, agent["id"], "posso trocar produto em quantos dias?")
    assert "30 dias corridos" in str(answer["answer"])
    assert "Início" not in str(answer["answer"])  # the menu is not the page's text
    assert answer["passages"][0]["source_title"] == "Política de trocas"  # type: ignore[index]


async def test_reindexing_fetches_the_page_again(owner: Tenant, web: FakeWeb) -> None:
    agent = await new_agent(owner.client)
    url = web.page("/horario", b"<html><body><p>Abrimos de segunda a sexta.</p></body></html>")
    created = await owner.client.post(
        f"/api/v1/agents/{agent['id']}/knowledge",
        json={"kind": "url", "url": url, "title": "Horário"},
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    web.page("/horario", b"<html><body><p>Agora abrimos aos domingos.</p></body></html>")
    again = await owner.client.post(f"/api/v1/agents/{agent['id']}/knowledge/{source_id}/reindex")
    assert again.status_code == 200, again.text
    assert again.json()["title"] == "Horário"
    answer = await ask(owner.client, agent["id"], "abrem aos domingos?")
    assert "domingos" in str(answer["answer"])

    web.pages.pop("/horario")
    gone = await owner.client.post(f"/api/v1/agents/{agent['id']}/knowledge/{source_id}/reindex")
    assert gone.status_code == 422
    assert problem_of(gone)["detail"] == "The page answered HTTP 404."
    [kept] = await sources(owner, agent["id"])
    assert (kept["status"], kept["chunk_count"]) == ("ready", again.json()["chunk_count"])
    assert "domingos" in str(
        (await ask(owner.client, agent["id"], "abrem aos domingos?"))["answer"]
    )


@pytest.mark.parametrize(
    ("path", "status", "code", "detail"),
    [
        ("/missing", 422, "page-not-readable", "The page answered HTTP 404."),
        ("/file.pdf", 415, "unsupported-media-type", "not a web page (HTML) but application/pdf"),
        ("/huge", 413, "outbound-too-large", f"the limit is {MAX_PAGE_BYTES}"),
        ("/empty", 422, "page-not-readable", "no text to learn from"),
        ("/slow", 422, "outbound-timeout", "did not answer within 2 seconds"),
        ("/to-private", 422, "outbound-refused", "10.1.2.3 is a private address"),
    ],
)
async def test_failures_are_precise_and_save_nothing(
    owner: Tenant, web: FakeWeb, path: str, status: int, code: str, detail: str
) -> None:
    web.page("/file.pdf", b"%PDF-1.4", content_type="application/pdf")
    web.page("/huge", b"<p>" + b"x" * (MAX_PAGE_BYTES + 10) + b"</p>")
    web.page("/empty", b"<html><body><script>var a = 1;</script></body></html>")
    web.script("GET", "/slow", Scripted(status=200, text="<p>late</p>", delay=5))
    web.redirect("/to-private", "http://10.1.2.3/intranet")
    agent = await new_agent(owner.client)
    response = await owner.client.post(
        f"/api/v1/agents/{agent['id']}/knowledge",
        json={"kind": "url", "url": web.base_url + path},
    )
    assert response.status_code == status, response.text
    problem = problem_of(response)
    assert problem["type"] == f"https://atende.dev/problems/{code}"
    assert detail in str(problem["detail"])
    assert problem["field"] == "url"
    assert await sources(owner, agent["id"]) == []


async def test_the_editor_adds_a_page_and_tells_what_went_wrong(
    open_server: Server, owner: Tenant, web: FakeWeb
) -> None:
    agent = await new_agent(owner.client)
    url = web.page("/trocas", PAGE.encode())
    async with signed_in(open_server.base_url, owner.email) as client:
        page = await client.get(f"/agents/{agent['id']}", headers=EN)
        assert 'action="/agents/{}/knowledge/url"'.format(agent["id"]) in page.text
        added = await client.post(
            f"/agents/{agent['id']}/knowledge/url",
            data={"csrf_token": token(client), "url": url, "title": ""},
        )
        assert added.status_code == 303, added.text
        missing = await client.post(
            f"/agents/{agent['id']}/knowledge/url",
            data={"csrf_token": token(client), "url": web.base_url + "/nope", "title": "X"},
            headers=EN,
        )
        assert missing.status_code == 422
        assert "This page cannot be used: The page answered HTTP 404." in missing.text
        bad = await client.post(
            f"/agents/{agent['id']}/knowledge/url",
            data={"csrf_token": token(client), "url": "ftp://x", "title": ""},
            headers=EN,
        )
        assert bad.status_code == 422
        assert "http:// or https://" in bad.text
        listed = await client.get(f"/agents/{agent['id']}", headers=EN)
        assert "Web page" in listed.text
        assert f'href="{url}"' in listed.text
    assert [s["kind"] for s in await sources(owner, agent["id"])] == ["url"]
