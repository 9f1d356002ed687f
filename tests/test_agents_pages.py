"""The agents pages through HTTP, as a browser uses them (forms + CSRF), on both databases."""

import httpx

from tests.support.server import Server, free_port
from tests.support.tenants import Tenant, add_member
from tests.test_web_pages import signed_in

PT = {"Accept-Language": "pt-BR"}
EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true"}


def token(client: httpx.AsyncClient) -> str:
    return str(client.cookies["atende_csrf"])


def editor_form(client: httpx.AsyncClient, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token(client),
        "name": "Balcão",
        "instructions": "Be kind.",
        "greeting": "Olá!",
        "fallback_text": "Vou chamar alguém.",
        "brain": "offline",
        "base_url": "",
        "model": "",
        "temperature": "0.3",
        "max_tokens": "512",
        "api_key": "",
        "debounce_seconds": "4",
        "typing_chars_per_second": "30",
        "show_typing": "on",
        "split_replies": "on",
        "memory_messages": "20",
        "replies_per_minute": "6",
        "handoff_keywords": "atendente, humano",
        "human_silence_resume_minutes": "",
        "hours_enabled": "on",
        "timezone": "America/Sao_Paulo",
        "hours_mon": "09:00-12:00, 13:00-18:00",
        "hours_sat": "9:00-12:00",
        "out_of_hours_reply": "Voltamos às 9h.",
        "ignored_contacts": "+5511999990000",
    }
    return form | changes


async def agent_named(tenant: Tenant, name: str) -> dict[str, object]:
    listed = (await tenant.client.get("/api/v1/agents")).json()
    return dict(next(a for a in listed if a["name"] == name))


async def test_pages_speak_both_languages_and_start_empty(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        english = await client.get("/agents", headers=EN)
        portuguese = await client.get("/agents", headers=PT)
        new_en = await client.get("/agents/new", headers=EN)
        new_pt = await client.get("/agents/new", headers=PT)
    assert english.status_code == 200
    assert "Create your first agent" in english.text
    assert "Coming soon" not in english.text
    assert "Crie seu primeiro agente" in portuguese.text
    assert new_en.status_code == 200
    for text in ("Persona &amp; instructions", "Model", "Behaviour", "Playground", "Time zone"):
        assert text in new_en.text
    for text in ("Persona e instruções", "Comportamento", "Fuso horário", "Segunda"):
        assert text in new_pt.text


async def test_create_edit_and_delete_through_the_forms(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        created = await client.post("/agents", data=editor_form(client, api_key="sk-secret-9876"))
        assert created.status_code == 303, created.text
        agent = await agent_named(tenant, "Balcão")
        assert created.headers["location"] == f"/agents/{agent['id']}?saved=1"
        behaviour = agent["behaviour"]
        assert isinstance(behaviour, dict)
        assert behaviour["debounce_seconds"] == 4
        assert behaviour["human_silence_resume_minutes"] is None
        assert behaviour["working_hours"]["days"]["mon"][1] == {"start": "13:00", "end": "18:00"}
        assert behaviour["working_hours"]["days"]["sat"] == [{"start": "09:00", "end": "12:00"}]
        assert behaviour["ignored_contacts"] == ["+5511999990000"]
        assert agent["api_key"] == "••••9876"

        page = await client.get(f"/agents/{agent['id']}?saved=1", headers=EN)
        assert "Saved." in page.text
        assert "sk-secret-9876" not in page.text
        assert "••••9876" in page.text
        listing = await client.get("/agents", headers=EN)
        assert f'href="/agents/{agent["id"]}"' in listing.text
        assert "0 source(s)" in listing.text

        edited = await client.post(
            f"/agents/{agent['id']}",
            data=editor_form(client, name="Balcão 2", hours_enabled="", split_replies=""),
        )
        assert edited.status_code == 303, edited.text
        again = await agent_named(tenant, "Balcão 2")
        assert isinstance(again["behaviour"], dict)
        assert again["behaviour"]["working_hours"] is None
        assert again["behaviour"]["split_replies"] is False
        assert again["api_key"] == "••••9876"  # an empty key field keeps the stored one

        missing = await client.post(f"/agents/{agent['id']}/delete", data={})
        assert missing.status_code == 403
        deleted = await client.post(
            f"/agents/{agent['id']}/delete", data={"csrf_token": token(client)}
        )
        assert deleted.status_code == 303
    assert (await tenant.client.get(f"/api/v1/agents/{agent['id']}")).status_code == 404


async def test_validation_errors_are_shown_beside_fields_and_nothing_saved(
    server: Server, tenant: Tenant
) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        missing = await client.post("/agents", data={"name": "No token"})
        assert missing.status_code == 403
        bad = editor_form(
            client,
            debounce_seconds="-1",
            timezone="Mars/Olympus",
            hours_tue="9 to 5",
            brain="openai",
            api_key="sk-never-echoed",
        )
        refused = await client.post("/agents", data=bad, headers=PT)
        assert refused.status_code == 422, refused.text
        assert "Deve ser no mínimo 0." in refused.text
        assert "Fuso desconhecido" in refused.text
        assert "Use faixas como 09:00-18:00" in refused.text
        assert "Nada foi salvo" in refused.text
        assert "sk-never-echoed" not in refused.text
        assert 'value="Mars/Olympus"' in refused.text  # what was typed comes back
        model = await client.post("/agents", data=editor_form(client, brain="openai"), headers=EN)
        assert model.status_code == 422
        assert "needs a model name" in model.text
    assert (await tenant.client.get("/api/v1/agents")).json() == []

    created = await tenant.client.post("/api/v1/agents", json={"name": "Kept"})
    agent_id = created.json()["id"]
    async with signed_in(server.base_url, tenant.email) as client:
        refused = await client.post(
            f"/agents/{agent_id}", data=editor_form(client, name="Changed", memory_messages="x")
        )
        assert refused.status_code == 422
        assert "Enter a number." in refused.text
    assert (await tenant.client.get(f"/api/v1/agents/{agent_id}")).json()["name"] == "Kept"


async def test_knowledge_through_the_page_and_the_playground_answers(
    server: Server, tenant: Tenant
) -> None:
    created = await tenant.client.post("/api/v1/agents", json={"name": "Padaria"})
    agent_id = created.json()["id"]
    async with signed_in(server.base_url, tenant.email) as client:
        faq = await client.post(
            f"/agents/{agent_id}/knowledge/faq",
            data={
                "csrf_token": token(client),
                "title": "Horários",
                "question": ["Que horas vocês abrem?", ""],
                "answer": ["Abrimos às 7h todos os dias.", ""],
            },
        )
        assert faq.status_code == 303, faq.text
        text = await client.post(
            f"/agents/{agent_id}/knowledge/text",
            data={"csrf_token": token(client), "title": "Entrega", "text": "Entregamos no bairro."},
        )
        assert text.status_code == 303
        upload = await client.post(
            f"/agents/{agent_id}/knowledge/file",
            data={"csrf_token": token(client)},
            files={"file": ("menu.exe", b"MZ", "application/octet-stream")},
            headers=EN,
        )
        assert upload.status_code == 422
        assert "not supported" in upload.text
        incomplete = await client.post(
            f"/agents/{agent_id}/knowledge/faq",
            data={"csrf_token": token(client), "title": "X", "question": "Sem resposta?"},
            headers=EN,
        )
        assert incomplete.status_code == 422
        assert "each question needs its answer" in incomplete.text
        page = await client.get(f"/agents/{agent_id}", headers=EN)
        assert "Horários" in page.text
        assert "Entrega" in page.text
        assert "Ready" in page.text
        row = await client.get(f"/agents/{agent_id}/knowledge/faq-row?n=3", headers=EN)
        assert 'id="faq-q-3"' in row.text

        answer = await client.post(
            f"/agents/{agent_id}/playground",
            data={"csrf_token": token(client), "text": "a que horas abrem?"},
            headers={**HTMX, **EN},
        )
        assert answer.status_code == 200, answer.text
        assert "Abrimos às 7h todos os dias." in answer.text
        assert "Passages used" in answer.text
        assert "Horários" in answer.text
        assert "<html" not in answer.text  # a fragment for htmx

        sources = (await tenant.client.get(f"/api/v1/agents/{agent_id}/knowledge")).json()
        text_id = next(s["id"] for s in sources if s["title"] == "Entrega")
        reindexed = await client.post(
            f"/agents/{agent_id}/knowledge/{text_id}/reindex", data={"csrf_token": token(client)}
        )
        assert reindexed.status_code == 303
        removed = await client.post(
            f"/agents/{agent_id}/knowledge/{text_id}/delete", data={"csrf_token": token(client)}
        )
        assert removed.status_code == 303
    titles = [
        s["title"] for s in (await tenant.client.get(f"/api/v1/agents/{agent_id}/knowledge")).json()
    ]
    assert titles == ["Horários"]


async def test_operators_read_only_but_use_the_playground(server: Server, tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/agents", json={"name": "Suporte"})
    agent_id = created.json()["id"]
    await tenant.client.post(
        f"/api/v1/agents/{agent_id}/knowledge",
        json={
            "kind": "faq",
            "title": "Pix",
            "pairs": [{"question": "Aceitam pix?", "answer": "Sim, aceitamos pix."}],
        },
    )
    operator, _user_id = await add_member(tenant, server.base_url, "operator")
    page = await operator.get(f"/agents/{agent_id}", headers=EN)
    assert page.status_code == 200
    assert "owners and admins edit them" in page.text
    assert '<fieldset class="plain" disabled>' in page.text
    assert f"/agents/{agent_id}/delete" not in page.text
    assert (await operator.get("/agents/new")).status_code == 403
    for path, data in {
        "/agents": {"name": "Sneaky"},
        f"/agents/{agent_id}": {"name": "Renamed"},
        f"/agents/{agent_id}/delete": {},
        f"/agents/{agent_id}/knowledge/text": {"title": "t", "text": "x"},
    }.items():
        response = await operator.post(path, data=data, headers={"Accept": "text/html"})
        assert response.status_code == 403, path
    answer = await operator.post(
        f"/agents/{agent_id}/playground", data={"text": "vocês aceitam pix?"}, headers=HTMX
    )
    assert answer.status_code == 200
    assert "Sim, aceitamos pix." in answer.text
    assert (await tenant.client.get(f"/api/v1/agents/{agent_id}")).json()["name"] == "Suporte"


async def test_saving_an_agent_whose_model_server_is_down_warns_in_both_languages(
    server: Server, tenant: Tenant
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    async with signed_in(server.base_url, tenant.email) as client:
        form = editor_form(client, name="Remoto", brain="openai", base_url=dead, model="m")
        created = await client.post("/agents", data=form)
        assert created.status_code == 303, created.text
        location = created.headers["location"]
        assert location.endswith("?saved=1&warn=unreachable")
        english = await client.get(location, headers=EN)
        portuguese = await client.get(location, headers=PT)
        forged = await client.get(location.replace("unreachable", "<b>x</b>"), headers=EN)
    assert f"The model server did not answer at {dead}" in english.text
    assert f"O servidor do modelo não respondeu em {dead}" in portuguese.text
    assert "<b>x</b>" not in forged.text
    assert "did not answer" not in forged.text


async def test_voice_notes_and_images_settings_through_the_form(
    server: Server, tenant: Tenant
) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        new = await client.get("/agents/new", headers=PT)
        assert "Áudios e imagens" in new.text
        assert "Recebi seu áudio" in new.text  # the default reply, ready to edit
        fields = {
            "brain": "openai",
            "model": "gpt-4o-mini",
            "transcription_model": "whisper-1",
            "vision": "on",
            "voice_note_reply": "Please write: we cannot hear audio here.",
            "image_reply": "Please describe the picture.",
        }
        created = await client.post("/agents", data=editor_form(client, **fields))
        assert created.status_code == 303, created.text
        agent = await agent_named(tenant, "Balcão")
        assert (agent["transcription_model"], agent["vision"]) == ("whisper-1", True)
        behaviour = agent["behaviour"]
        assert isinstance(behaviour, dict)
        assert behaviour["voice_note_reply"] == "Please write: we cannot hear audio here."
        assert behaviour["image_reply"] == "Please describe the picture."
        page = await client.get(f"/agents/{agent['id']}", headers=EN)
        assert 'value="whisper-1"' in page.text
        assert "Please describe the picture." in page.text
        refused = await client.post(
            f"/agents/{agent['id']}", data=editor_form(client, **fields | {"image_reply": ""})
        )
        assert refused.status_code == 422
        unchanged = await agent_named(tenant, "Balcão")
        assert unchanged["behaviour"] == behaviour
