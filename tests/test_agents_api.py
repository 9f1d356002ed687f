"""The agents API on both databases: agents, settings validation, roles, knowledge sources
(JSON and files) and the playground with the offline brain."""

import io

import httpx

from tests.support.direct_db import problem_of
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import Server
from tests.support.tenants import Tenant, add_member

FAQ = {
    "kind": "faq",
    "title": "Perguntas frequentes",
    "pairs": [
        {"question": "Qual é o horário de funcionamento?", "answer": "Abrimos das 9h às 18h."},
        {"question": "Vocês aceitam Pix?", "answer": "Sim, aceitamos Pix e cartões."},
        {"question": "Do you deliver on weekends?", "answer": "We deliver on Saturdays."},
    ],
}
POLICY = (
    "Política de trocas\n\nA devolução é gratuita em até 30 dias, com a nota fiscal.\n\n"
    "Não aceitamos cheques nem pagamentos em dinheiro na entrega."
)


async def new_agent(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    response = await client.post("/api/v1/agents", json={"name": "Loja", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def ask(client: httpx.AsyncClient, agent_id: object, text: str) -> dict[str, object]:
    response = await client.post(f"/api/v1/agents/{agent_id}/test", json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def pdf_with(text: str) -> bytes:
    """A one-page PDF showing `text` (built by hand, with a correct cross-reference table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def docx_with(*paragraphs: str) -> bytes:
    from docx import Document

    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def test_agent_crud_with_encrypted_key_and_defaults(tenant: Tenant) -> None:
    created = await new_agent(tenant.client, api_key="sk-test-1234567890abcd", greeting="Oi!")
    agent_id = created["id"]
    assert created["api_key"] == "••••abcd"
    assert created["brain"] == "offline"
    behaviour = created["behaviour"]
    assert isinstance(behaviour, dict)
    assert behaviour["debounce_seconds"] > 0
    assert behaviour["working_hours"] is None
    url = f"/api/v1/agents/{agent_id}"
    patched = await tenant.client.patch(
        url,
        json={
            "name": "Loja Centro",
            "behaviour": {
                "debounce_seconds": 3,
                "working_hours": {
                    "timezone": "America/Recife",
                    "days": {"mon": [{"start": "08:00", "end": "12:00"}]},
                },
            },
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Loja Centro"
    assert body["behaviour"]["debounce_seconds"] == 3
    assert body["behaviour"]["memory_messages"] == behaviour["memory_messages"]  # merged
    assert body["behaviour"]["working_hours"]["timezone"] == "America/Recife"
    assert body["api_key"] == "••••abcd"  # kept when not sent
    cleared = await tenant.client.patch(url, json={"api_key": ""})
    assert cleared.json()["api_key"] is None
    listed = (await tenant.client.get("/api/v1/agents")).json()
    assert [a["id"] for a in listed] == [agent_id]
    assert (await tenant.client.delete(url)).status_code == 204
    assert (await tenant.client.get(url)).status_code == 404


async def test_invalid_settings_are_refused_and_nothing_is_half_saved(tenant: Tenant) -> None:
    refused = await tenant.client.post(
        "/api/v1/agents", json={"name": "X", "behaviour": {"debounce_seconds": -1}}
    )
    problem = problem_of(refused)
    assert refused.status_code == 422
    assert ["body", "behaviour", "debounce_seconds"] in [e["loc"] for e in problem["errors"]]  # type: ignore[union-attr]
    unknown_brain = await tenant.client.post("/api/v1/agents", json={"name": "X", "brain": "gpt"})
    assert unknown_brain.status_code == 422
    assert ["body", "brain"] in [e["loc"] for e in unknown_brain.json()["errors"]]
    no_model = await tenant.client.post("/api/v1/agents", json={"name": "X", "brain": "openai"})
    assert (no_model.status_code, no_model.json()["field"]) == (422, "model")
    assert (await tenant.client.get("/api/v1/agents")).json() == []

    agent = await new_agent(tenant.client)
    url = f"/api/v1/agents/{agent['id']}"
    bad_zone = await tenant.client.patch(
        url, json={"name": "Renamed", "behaviour": {"working_hours": {"timezone": "Mars/Base"}}}
    )
    assert bad_zone.status_code == 422
    assert bad_zone.json()["field"] == "behaviour.working_hours.timezone"
    for bad in (
        {"human_silence_resume_minutes": -5},
        {"memory_messages": -1},
        {"working_hours": {"days": {"mon": [{"start": "18:00", "end": "09:00"}]}}},
        {"ignored_contacts": ["not a phone"]},
        {"no_such_setting": 1},
    ):
        response = await tenant.client.patch(url, json={"behaviour": bad})
        assert response.status_code == 422, (bad, response.text)
    bad_url = await tenant.client.patch(url, json={"base_url": "ftp://example.com"})
    assert bad_url.status_code == 422
    unchanged = (await tenant.client.get(url)).json()
    assert unchanged["name"] == "Loja"
    assert unchanged["behaviour"] == agent["behaviour"]


async def test_operators_read_and_try_agents_but_cannot_change_them(
    server: Server, tenant: Tenant
) -> None:
    agent = await new_agent(tenant.client)
    await tenant.client.post(f"/api/v1/agents/{agent['id']}/knowledge", json=FAQ)
    operator, _ = await add_member(tenant, server.base_url, "operator")
    url = f"/api/v1/agents/{agent['id']}"
    assert (await operator.get("/api/v1/agents")).status_code == 200
    assert (await operator.get(url)).status_code == 200
    assert (await operator.get(url + "/knowledge")).status_code == 200
    assert "Pix" in str((await ask(operator, agent["id"], "aceitam pix?"))["answer"])
    for method, path, body in (
        ("POST", "/api/v1/agents", {"name": "Mine"}),
        ("PATCH", url, {"name": "Mine"}),
        ("DELETE", url, None),
        ("POST", url + "/knowledge", FAQ),
    ):
        response = await operator.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert (await tenant.client.get(url)).json()["name"] == "Loja"


async def test_playground_answers_from_faq_and_text_with_citations(tenant: Tenant) -> None:
    agent = await new_agent(tenant.client, fallback_text="Vou chamar uma pessoa.")
    base = f"/api/v1/agents/{agent['id']}"
    faq = await tenant.client.post(base + "/knowledge", json=FAQ)
    assert faq.status_code == 201, faq.text
    assert (faq.json()["status"], faq.json()["chunk_count"]) == ("ready", 3)
    text = await tenant.client.post(
        base + "/knowledge", json={"kind": "text", "title": "Trocas", "text": POLICY}
    )
    assert text.json()["chunk_count"] == 1

    from_faq = await ask(tenant.client, agent["id"], "que horário vocês funcionam?")
    assert from_faq["answer"] == "Abrimos das 9h às 18h."
    assert from_faq["handoff"] is False
    assert from_faq["passages"][0]["source_title"] == "Perguntas frequentes"  # type: ignore[index]
    assert (from_faq["prompt_tokens"], from_faq["cost"], from_faq["tool_calls"]) == (0, 0, [])
    assert from_faq["brain"] == "offline"

    # Accents fold both ways: "devolucao" finds "devolução", "nao" finds "Não".
    from_text = await ask(tenant.client, agent["id"], "a devolucao e gratuita?")
    assert from_text["answer"] == "A devolução é gratuita em até 30 dias, com a nota fiscal."
    (passage,) = from_text["passages"]  # type: ignore[misc]
    assert passage["source_title"] == "Trocas"
    assert passage["source_id"] == text.json()["id"]
    assert "Não aceitamos cheques" in str(
        (await ask(tenant.client, agent["id"], "cheques"))["answer"]
    )
    english = await ask(tenant.client, agent["id"], "deliver on weekend?")
    assert english["answer"] == "We deliver on Saturdays."

    nothing = await ask(tenant.client, agent["id"], "vocês consertam bicicletas elétricas?")
    assert nothing["answer"] == "Vou chamar uma pessoa."
    assert nothing["handoff"] is True
    assert nothing["handoff_reason"] == "no matching knowledge"
    assert nothing["passages"] == []


async def test_knowledge_lifecycle_delete_and_reindex(tenant: Tenant) -> None:
    agent = await new_agent(tenant.client)
    base = f"/api/v1/agents/{agent['id']}/knowledge"
    source = (await tenant.client.post(base, json=FAQ)).json()
    listed = (await tenant.client.get(base)).json()
    assert [(s["id"], s["kind"], s["status"]) for s in listed] == [(source["id"], "faq", "ready")]
    reindexed = await tenant.client.post(f"{base}/{source['id']}/reindex")
    assert (reindexed.status_code, reindexed.json()["chunk_count"]) == (200, 3)
    assert "Pix" in str((await ask(tenant.client, agent["id"], "pix?"))["answer"])
    assert (await tenant.client.delete(f"{base}/{source['id']}")).status_code == 204
    assert (await tenant.client.get(base)).json() == []
    assert (await ask(tenant.client, agent["id"], "pix?"))["handoff"] is True
    assert (await tenant.client.delete(f"{base}/{source['id']}")).status_code == 404
    bad = await tenant.client.post(base, json={"kind": "faq", "title": "x", "pairs": []})
    assert bad.status_code == 422
    unknown = await tenant.client.post(base, json={"kind": "url", "title": "x"})
    assert unknown.status_code == 422
    broken = await tenant.client.post(
        base, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    other = await tenant.client.post(base, content=b"hi", headers={"content-type": "text/plain"})
    assert other.status_code == 415


async def test_file_sources_of_every_supported_type(tenant: Tenant) -> None:
    agent = await new_agent(tenant.client)
    base = f"/api/v1/agents/{agent['id']}/knowledge"
    files = {
        "horario.txt": "Funcionamos de segunda a sábado.".encode(),
        "entrega.md": b"# Entregas\n\nEntregamos em todo o Brasil em 5 dias.",
        "faq.csv": b"pergunta;resposta\nTem estacionamento?;Sim, gratuito.\n",
        "garantia.pdf": pdf_with("Our warranty lasts twelve months"),
        "troca.docx": docx_with("Trocas em até 30 dias.", "Reembolso em 5 dias úteis."),
    }
    for name, data in files.items():
        response = await tenant.client.post(base, files={"file": (name, data)})
        assert response.status_code == 201, (name, response.text)
        body = response.json()
        assert (body["kind"], body["filename"], body["status"]) == ("file", name, "ready")
    titled = await tenant.client.post(
        base, files={"file": ("a.txt", b"Aceitamos vale-presente.")}, data={"title": "Vales"}
    )
    assert titled.json()["title"] == "Vales"
    cases = {
        "sabado": "Funcionamos de segunda a sábado.",
        "entregas brasil": "Entregamos em todo o Brasil em 5 dias.",
        "tem estacionamento?": "Sim, gratuito.",
        "warranty months": "Our warranty lasts twelve months",
        "reembolso": "Reembolso em 5 dias úteis.",
    }
    for question, answer in cases.items():
        assert (await ask(tenant.client, agent["id"], question))["answer"] == answer, question


async def test_bad_files_are_refused_precisely(tenant: Tenant) -> None:
    agent = await new_agent(tenant.client)
    base = f"/api/v1/agents/{agent['id']}/knowledge"
    wrong = await tenant.client.post(base, files={"file": ("photo.png", b"\x89PNG....")})
    assert wrong.status_code == 415
    assert problem_of(wrong)["field"] == "file"
    for name, data in (
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf"),
        ("fake.pdf", b"hello"),
        ("broken.docx", b"PK\x03\x04 not a zip"),
        ("binary.txt", b"\x00\x01\x02"),
        ("empty.md", b"   "),
    ):
        response = await tenant.client.post(base, files={"file": (name, data)})
        assert response.status_code == 422, (name, response.text)
        assert problem_of(response)["field"] == "file"
    missing = await tenant.client.post(base, files={"other": ("a.txt", b"x")})
    assert missing.status_code == 422
    # Over the module's 10 MB cap (uploads have a body allowance of their own, see app.py).
    huge = await tenant.client.post(base, files={"file": ("big.txt", b"a " * 5_500_000)})
    assert huge.status_code == 413
    assert (await tenant.client.get(base)).json() == []


async def test_saving_warns_when_the_model_server_is_unreachable_or_refuses_the_key(
    tenant: Tenant,
) -> None:
    openai_agent = {"brain": "openai", "model": "gpt-test", "api_key": "sk-test-1234567890"}
    async with FakeOpenAI() as llm:
        good = await new_agent(tenant.client, base_url=f"{llm.base_url}/v1", **openai_agent)
        assert good["warnings"] == []
        assert [r.path for r in llm.requests] == ["/v1/models"]
        assert llm.requests[0].headers["authorization"] == "Bearer sk-test-1234567890"
        llm.models_status = 401
        refused = await tenant.client.patch(f"/api/v1/agents/{good['id']}", json={"name": "B"})
        assert refused.status_code == 200  # saved anyway
        assert "refused the API key" in refused.json()["warnings"][0]
        closed_port = llm.base_url
    # The fake server is gone: nothing listens on its port any more.
    down = await new_agent(tenant.client, base_url=f"{closed_port}/v1", **openai_agent)
    assert "did not answer" in down["warnings"][0]
    assert (await tenant.client.get(f"/api/v1/agents/{down['id']}")).status_code == 200
    offline = await new_agent(tenant.client, base_url=f"{closed_port}/v1")
    assert offline["warnings"] == []  # the offline brain calls no server
