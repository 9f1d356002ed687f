"""The inbox page through HTTP, as a browser uses it: both languages, the fragments that live
events fetch, the handoff forms (CSRF), sending once per Idempotency-Key, operators."""

import re

import httpx

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member
from tests.test_inbox_api import conversation_with_customer
from tests.test_web_pages import signed_in
from tests.test_whatsapp_pages import EN, PT, form_token
from tests.test_whatsapp_sandbox import CUSTOMER, paired_instance

HTMX = {"HX-Request": "true"}


async def test_empty_states_say_what_to_do_next(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        english = await client.get("/inbox", headers=EN)
        portuguese = await client.get("/inbox", headers=PT)
        assert english.status_code == 200
        assert "Coming soon" not in english.text
        assert "Connect a number" in english.text
        assert 'href="/instances"' in english.text
        assert "Conecte um número" in portuguese.text
        await paired_instance(tenant)
        none_yet = await client.get("/inbox", headers=EN)
        assert "No conversations yet" in none_yet.text
        assert 'href="/sandbox"' in none_yet.text
        assert "Pick a conversation" in none_yet.text
        filtered = await client.get("/inbox?mode=closed", headers=PT)
        assert "Nenhuma conversa corresponde" in filtered.text


async def test_list_and_conversation_in_both_languages(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    async with signed_in(server.base_url, tenant.email) as client:
        listed = await client.get("/inbox", headers=EN)
        assert f'id="conv-{conversation_id}"' in listed.text
        assert "Maria" in listed.text
        assert "Olá!" in listed.text  # the preview
        assert 'class="face hue-' in listed.text  # initials
        assert ">M<" in listed.text
        assert "sse:conversation.updated" in listed.text
        assert "sse:message.status" in listed.text
        assert re.search(r'sse-connect="/api/v1/events\?last_event_id=[1-9]', listed.text)

        english = await client.get(f"/inbox/{conversation_id}", headers=EN)
        portuguese = await client.get(f"/inbox/{conversation_id}", headers=PT)
    assert english.status_code == 200
    assert "Bot answering" in english.text
    assert ">Take over<" in english.text
    assert ">Close<" in english.text
    assert CUSTOMER in english.text
    assert 'class="msg in by-contact"' in english.text
    assert 'aria-current="true"' in english.text  # the open row is marked
    assert "data-composer" in english.text
    assert '<html lang="pt-BR">' in portuguese.text
    assert "Bot respondendo" in portuguese.text
    assert ">Assumir<" in portuguese.text
    assert "Digite uma resposta" in portuguese.text


async def test_fragments_for_live_events(server: Server, tenant: Tenant) -> None:
    instance_id, conversation_id = await conversation_with_customer(tenant)
    base = f"/api/v1/conversations/{conversation_id}"
    sent = await tenant.client.post(f"{base}/messages", json={"text": "Bom dia!"})
    message_id = sent.json()["id"]
    async with signed_in(server.base_url, tenant.email) as client:
        row = await client.get(f"/inbox/rows/{conversation_id}", headers=PT)
        assert row.status_code == 200
        assert row.text.lstrip().startswith(f'<li class="conv-row" id="conv-{conversation_id}"')
        assert "Bom dia!" in row.text  # the newest preview
        # The operator's message made it a human conversation: gone from the "bot" filter.
        assert (await client.get(f"/inbox/rows/{conversation_id}?mode=bot")).status_code == 204
        other = await client.get(f"/inbox/rows/{conversation_id}?instance={instance_id + 999}")
        assert other.status_code == 204

        bubble = await client.get(f"/inbox/{conversation_id}/messages/{message_id}", headers=EN)
        assert bubble.status_code == 200
        assert f'id="msg-{message_id}"' in bubble.text
        assert 'class="msg out by-operator"' in bubble.text
        assert "Owner" in bubble.text  # the member who wrote it
        assert re.search(r'data-status="(queued|sent|delivered)"', bubble.text)
        header = await client.get(f"/inbox/{conversation_id}/header", headers=EN)
        assert "You are answering" in header.text
        assert ">Return to bot<" in header.text
        pane = await client.get(f"/inbox/{conversation_id}/pane", headers=EN)
        assert 'id="thread"' in pane.text
        assert "Bom dia!" in pane.text
        assert "<html" not in pane.text
        older = await client.get(f"/inbox/{conversation_id}/messages?before={message_id}")
        assert "Olá!" in older.text
        assert "Bom dia!" not in older.text
        wrong = await client.get(f"/inbox/{conversation_id}/messages/{message_id + 999}")
        assert wrong.status_code == 404
        assert (await client.get("/inbox/empty", headers=EN)).text.count("Pick a conversation")


async def test_the_list_pages_with_a_cursor(server: Server, tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    for n in range(31):
        injected = await tenant.client.post(
            f"/api/v1/sandbox/{instance['id']}/messages",
            json={"from": f"+55119876{n:05d}", "name": f"Cliente {n}", "text": f"oi {n}"},
        )
        assert injected.status_code == 201, injected.text
    async with signed_in(server.base_url, tenant.email) as client:
        first = await client.get("/inbox", headers=EN)
        assert first.text.count('class="conv-row"') == 30
        more = re.search(r'hx-get="(/inbox/list\?cursor=[^"]+)"', first.text)
        assert more, "a load-more button"
        rest = await client.get(more.group(1).replace("&amp;", "&"))
        assert rest.text.count('class="conv-row"') == 1
        assert "Cliente 0" in rest.text  # the oldest comes last
        assert "/inbox/list?cursor" not in rest.text
        stale = await client.get("/inbox/list?cursor=garbage")
        assert stale.status_code == 422


async def test_handoff_forms_need_the_csrf_token(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    base = f"/inbox/{conversation_id}"
    async with signed_in(server.base_url, tenant.email) as client:
        for action in ("takeover", "release", "close", "messages", "seen"):
            missing = await client.post(f"{base}/{action}", data={"text": "hi"})
            assert missing.status_code == 403, action
        token = form_token(client)
        taken = await client.post(f"{base}/takeover", data={"csrf_token": token})
        assert taken.status_code == 303
        assert taken.headers["location"] == base
        assert await mode_of(tenant, conversation_id) == "human"
        released = await client.post(
            f"{base}/release", data={"csrf_token": token}, headers={**HTMX, **PT}
        )
        assert released.status_code == 200
        assert 'id="conv-head"' in released.text
        assert "Bot respondendo" in released.text
        assert await mode_of(tenant, conversation_id) == "bot"
        closed = await client.post(f"{base}/close", data={"csrf_token": token}, headers=HTMX)
        assert 'data-mode="closed"' in closed.text
        refused = await client.post(
            f"{base}/messages",
            data={"csrf_token": token, "text": "Ainda aí?"},
            headers={**HTMX, **EN, "Idempotency-Key": "closed-1"},
        )
        assert refused.status_code == 409
        assert "This conversation is closed. Take over to write again." in refused.text
    messages = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in messages["items"]] == ["Olá!"]


async def test_the_composer_sends_once_per_key(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    url = f"/inbox/{conversation_id}/messages"
    async with signed_in(server.base_url, tenant.email) as client:
        data = {"csrf_token": form_token(client), "text": "Já te respondo."}
        headers = {**HTMX, **PT, "Idempotency-Key": "attempt-1"}
        first = await client.post(url, data=data, headers=headers)
        again = await client.post(url, data=data, headers=headers)
        assert first.status_code == again.status_code == 200, first.text
        message_id = re.search(r'id="msg-(\d+)"', first.text)
        assert message_id
        assert f'id="msg-{message_id.group(1)}"' in again.text
        reused = await client.post(url, data={**data, "text": "Outra coisa"}, headers=headers)
        assert reused.status_code == 422
        assert "já foi enviada com outro texto" in reused.text
        empty = await client.post(
            url, data={**data, "text": "   "}, headers={**HTMX, **EN, "Idempotency-Key": "e"}
        )
        assert empty.status_code == 422
        assert "Write something to send." in empty.text
        plain = await client.post(url, data={**data, "text": "Sem JavaScript"})
        assert plain.status_code == 303
    items = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in items["items"]] == ["Sem JavaScript", "Já te respondo.", "Olá!"]
    assert await mode_of(tenant, conversation_id) == "human"  # writing takes over


async def test_operators_work_the_inbox(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    operator, _user_id = await add_member(tenant, server.base_url, "operator")
    page = await operator.get(f"/inbox/{conversation_id}", headers=EN)
    assert page.status_code == 200
    assert "Maria" in page.text
    taken = await operator.post(f"/inbox/{conversation_id}/takeover", headers=HTMX)
    assert taken.status_code == 200
    assert await mode_of(tenant, conversation_id) == "human"
    sent = await operator.post(
        f"/inbox/{conversation_id}/messages",
        data={"text": "Oi, aqui é da equipe."},
        headers={**HTMX, "Idempotency-Key": "op-1"},
    )
    assert sent.status_code == 200, sent.text
    assert "Operator" in sent.text  # named by the member's name ("Operator" from add_member)


async def test_other_organisations_conversations_are_not_found(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    for path in (
        f"/inbox/{conversation_id}",
        f"/inbox/{conversation_id}/pane",
        f"/inbox/rows/{conversation_id}",
        f"/inbox/{conversation_id}/header",
    ):
        response = await other_tenant.client.get(path, headers=EN)
        assert response.status_code == 404, path
    taken = await other_tenant.client.post(f"/inbox/{conversation_id}/takeover", headers=HTMX)
    assert taken.status_code == 404
    assert await mode_of(tenant, conversation_id) == "bot"


async def mode_of(tenant: Tenant, conversation_id: int) -> str:
    response: httpx.Response = await tenant.client.get(f"/api/v1/conversations/{conversation_id}")
    return str(response.json()["mode"])


async def test_opening_a_conversation_clears_its_unread_count(
    server: Server, tenant: Tenant
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    before = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()
    async with signed_in(server.base_url, tenant.email) as client:
        page = await client.get(f"/inbox/{conversation_id}", headers=EN)
        if before["unread_count"]:
            assert f'hx-post="/inbox/{conversation_id}/seen?up_to=' in page.text
        seen = await client.post(
            f"/inbox/{conversation_id}/seen", data={"csrf_token": form_token(client)}
        )
        assert seen.status_code == 204
    after = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert after["unread_count"] == 0
