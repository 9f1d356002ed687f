"""The conversation view through HTTP: notes in the timeline, the "new messages" marker per
person, media, locations, quoted replies, failed messages with "send again", the "why" panel
and canned replies (settings page and composer suggestions)."""

import re

from sqlalchemy import event, select

from atende.agents.models import LlmCall
from atende.inbox import thread
from atende.inbox.models import Message
from tests.support.crossorg_resources import fail_message
from tests.support.direct_db import direct_session
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import Server
from tests.support.tenants import Tenant, add_member
from tests.test_agents_pipeline import say, settle
from tests.test_agents_why import openai_agent_on_number
from tests.test_inbox_api import conversation_with_customer
from tests.test_web_pages import signed_in
from tests.test_whatsapp_pages import EN, PT, form_token
from tests.test_whatsapp_sandbox import CUSTOMER

HTMX = {"HX-Request": "true"}


def thread_of(page: str) -> str:
    """The conversation's thread (the list beside it shows previews too)."""
    return page[page.index('id="thread"') :]


async def test_notes_in_the_timeline(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    async with signed_in(server.base_url, tenant.email) as client:
        csrf = {"X-CSRF-Token": form_token(client), **HTMX}
        made = await client.post(
            f"/inbox/{conversation_id}/notes", data={"text": "Ligar amanhã"}, headers=csrf | EN
        )
        assert made.status_code == 200, made.text
        assert made.text.lstrip().startswith('<li class="msg note" id="note-')
        assert "Internal note" in made.text
        assert "Ligar amanhã" in made.text
        note_id = made.text.split('data-note="', 1)[1].split('"', 1)[0]
        fragment = await client.get(f"/inbox/{conversation_id}/notes/{note_id}", headers=PT)
        assert "Nota interna" in fragment.text
        assert (await client.get(f"/inbox/{conversation_id}/notes/999999999")).status_code == 404

        page = await client.get(f"/inbox/{conversation_id}", headers=EN)
        # After the customer's message, in time order, and marked as a note.
        assert page.text.index('class="msg in by-contact"') < page.text.index("Ligar amanhã")
        assert 'class="msg note"' in page.text
        assert "sse:note.created" in page.text
        assert "data-note-toggle" in page.text

        empty = await client.post(
            f"/inbox/{conversation_id}/notes", data={"text": "  "}, headers=csrf | PT
        )
        assert empty.status_code == 422
        assert "Escreva a nota" in empty.text
        notes = await client.get(f"/api/v1/conversations/{conversation_id}/notes")
        assert len(notes.json()) == 1


async def test_new_messages_marker_per_person(server: Server, tenant: Tenant) -> None:
    instance_id, conversation_id = await conversation_with_customer(tenant)
    operator, _user = await add_member(tenant, server.base_url, "operator")
    async with signed_in(server.base_url, tenant.email) as client:
        first = await client.get(f"/inbox/{conversation_id}", headers=EN)
        assert 'id="new-marker"' in first.text  # never opened: everything is new
        newest = first.text.split("/seen?up_to=", 1)[1].split('"', 1)[0]
        seen = await client.post(
            f"/inbox/{conversation_id}/seen?up_to={newest}",
            headers={"X-CSRF-Token": form_token(client)},
        )
        assert seen.status_code == 204
        again = await client.get(f"/inbox/{conversation_id}", headers=EN)
        assert 'id="new-marker"' not in again.text

        await tenant.client.post(
            f"/api/v1/sandbox/{instance_id}/messages", json={"from": CUSTOMER, "text": "Oi de novo"}
        )
        later = thread_of((await client.get(f"/inbox/{conversation_id}", headers=EN)).text)
        assert "New messages" in later
        assert later.index("Olá!") < later.index('id="new-marker"') < later.index("Oi de novo")
        # A stale report from another tab does not move the mark back.
        await client.post(
            f"/inbox/{conversation_id}/seen?up_to=1", headers={"X-CSRF-Token": form_token(client)}
        )
        await client.post(
            f"/inbox/{conversation_id}/seen", headers={"X-CSRF-Token": form_token(client)}
        )
        assert 'id="new-marker"' not in (await client.get(f"/inbox/{conversation_id}")).text
    # The operator has read nothing yet: their marker is above the first message.
    theirs = thread_of((await operator.get(f"/inbox/{conversation_id}", headers=EN)).text)
    assert theirs.index('id="new-marker"') < theirs.index("Olá!")


async def test_media_location_quotes_and_failures(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    sent = await tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Vai falhar"}
    )
    failed_id = sent.json()["id"]
    await fail_message(server.database_url, tenant, conversation_id, failed_id)
    async with direct_session(server.database_url) as session:
        first = await session.scalar(
            select(Message).where(Message.conversation_id == conversation_id)
        )
        assert first is not None
        first.provider_message_id = "wamid.quoted"
        common = {
            "org_id": first.org_id,
            "instance_id": first.instance_id,
            "conversation_id": conversation_id,
            "direction": "in",
            "author": "contact",
            "status": "delivered",
        }
        session.add_all(
            [
                Message(**common, type="image", text="foto", provider_message_id="m1",
                        media={"mime_type": "image/jpeg", "path": "ab/cd", "size": 10}),
                Message(**common, type="audio", provider_message_id="m2",
                        media={"mime_type": "audio/ogg", "path": "ab/ce", "voice_note": True}),
                Message(**common, type="video", provider_message_id="m3",
                        media={"mime_type": "video/mp4", "path": "ab/cf"}),
                Message(**common, type="document", provider_message_id="m4",
                        media={"mime_type": "application/pdf", "path": "ab/cg",
                               "filename": "orcamento.pdf", "size": 2_500_000}),
                Message(**common, type="image", provider_message_id="m5",
                        media={"mime_type": "image/png", "error": "expired"}),
                Message(**common, type="location", text="Loja Centro", provider_message_id="m6",
                        extra={"latitude": -23.55, "longitude": -46.63, "name": "Loja Centro"}),
                Message(**common, type="text", text="Como assim?", provider_message_id="m7",
                        reply_to_provider_id="wamid.quoted"),
                Message(**common, type="text", text="E isto?", provider_message_id="m8",
                        reply_to_provider_id="wamid.unknown"),
            ]
        )  # fmt: skip
    async with signed_in(server.base_url, tenant.email) as client:
        page = thread_of((await client.get(f"/inbox/{conversation_id}", headers=EN)).text)
    ids = {}
    async with direct_session(server.database_url) as session:
        for row in await session.execute(
            select(Message.provider_message_id, Message.id).where(
                Message.conversation_id == conversation_id
            )
        ):
            ids[row[0]] = row[1]
    assert f'<img src="/api/v1/messages/{ids["m1"]}/media" loading="lazy"' in page
    assert f'<audio controls preload="none" src="/api/v1/messages/{ids["m2"]}/media"' in page
    assert f'<video controls preload="metadata" src="/api/v1/messages/{ids["m3"]}/media"' in page
    assert f'href="/api/v1/messages/{ids["m4"]}/media" download="orcamento.pdf"' in page
    assert "2.5 MB" in page
    assert "Media unavailable: expired" in page
    assert "openstreetmap.org/?mlat=-23.55&amp;mlon=-46.63" in page
    assert "Loja Centro" in page
    quote = page.index('<blockquote class="quote">')
    assert page.index("Olá!", quote) < page.index("Como assim?")  # the quoted text, above
    assert "Quoted message not available" in page
    assert "The provider refused it." in page
    retry = f'hx-post="/api/v1/conversations/{conversation_id}/messages/{failed_id}/retry"'
    assert retry in page
    assert page.count("data-retry=") == 1  # only the failed one


async def test_why_panel(server: Server, tenant: Tenant, other_tenant: Tenant) -> None:
    async with FakeOpenAI() as model:
        instance_id, _agent = await openai_agent_on_number(tenant, model)
        model.say("Entregamos sim, em até 2 horas [1].", prompt_tokens=1000, completion_tokens=500)
        await say(tenant, instance_id, "vocês fazem entrega?")
        await settle(tenant, instance_id)
    conversation_id = (await tenant.client.get("/api/v1/conversations")).json()["items"][0]["id"]
    history = await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    agent_message = next(m for m in history.json()["items"] if m["author"] == "agent")
    customer_message = next(m for m in history.json()["items"] if m["author"] == "contact")
    url = f"/inbox/{conversation_id}/why/{agent_message['id']}"
    async with signed_in(server.base_url, tenant.email) as client:
        page = await client.get(f"/inbox/{conversation_id}", headers=EN)
        assert f'hx-get="{url}"' in page.text
        assert page.text.count("data-why") == 1  # agent messages only
        panel = await client.get(url, headers=EN)
        assert panel.status_code == 200
        for shown in ("gpt-4o-mini", "1000 in, 500 out", "US$ 0.000450", "Answered", "Loja"):
            assert shown in panel.text, shown
        assert "entregamos em toda a cidade" in panel.text.lower()
        assert "No tool was called." in panel.text
        assert "Trechos de conhecimento usados" in (await client.get(url, headers=PT)).text
        plain = await client.get(f"/inbox/{conversation_id}/why/{customer_message['id']}")
        assert "No model call" in plain.text
        assert (await client.get(f"/inbox/{conversation_id}/why/999999999")).status_code == 404
    async with direct_session(server.database_url) as session:
        linked = await session.scalar(
            select(Message.extra).where(Message.id == agent_message["id"])
        )
        call = await session.scalar(
            select(LlmCall).where(LlmCall.conversation_id == conversation_id)
        )
    assert call is not None
    assert linked == {"llm_call_id": call.id}
    async with signed_in(server.base_url, other_tenant.email) as stranger:
        assert (await stranger.get(url)).status_code == 404


async def test_canned_replies_settings_and_composer(server: Server, tenant: Tenant) -> None:
    operator, _user = await add_member(tenant, server.base_url, "operator")
    async with signed_in(server.base_url, tenant.email) as client:
        token = form_token(client)
        empty = await client.get("/settings/canned-replies", headers=EN)
        assert "No canned replies yet" in empty.text
        made = await client.post(
            "/settings/canned-replies",
            data={"csrf_token": token, "shortcut": "/precos", "text": "A partir de R$ 10"},
        )
        assert made.status_code == 303
        await client.post(
            "/settings/canned-replies",
            data={"csrf_token": token, "shortcut": "prazo", "text": "Entrega em 2 dias"},
        )
        duplicate = await client.post(
            "/settings/canned-replies",
            data={"csrf_token": token, "shortcut": "PRECOS", "text": "x"},
            headers=PT,
        )
        assert duplicate.status_code == 409
        assert "Esse atalho já existe" in duplicate.text
        listed = await client.get("/settings/canned-replies", headers=EN)
        assert listed.text.count('value="/precos"') == 1
        found = re.search(r'id="s-(\d+)" name="shortcut" value="/precos"', listed.text)
        assert found is not None
        canned_id = found[1]
        changed = await client.post(
            f"/settings/canned-replies/{canned_id}",
            data={"csrf_token": token, "shortcut": "/precos", "text": "Desde R$ 9"},
        )
        assert changed.status_code == 303

        suggestions = await client.get("/inbox/canned/suggest?q=pr", headers=HTMX)
        assert suggestions.text.count('role="option"') == 2
        assert 'data-canned-text="Desde R$ 9"' in suggestions.text
        only = await client.get("/inbox/canned/suggest?q=prec", headers=HTMX)
        assert only.text.count('role="option"') == 1
        none = await client.get("/inbox/canned/suggest?q=zzz", headers=EN)
        assert "No canned reply matches" in none.text

        gone = await client.post(
            f"/settings/canned-replies/{canned_id}/delete", data={"csrf_token": token}
        )
        assert gone.status_code == 303
        assert "Desde R$ 9" not in (await client.get("/settings/canned-replies")).text
    # Operators see the replies, without the forms that change them.
    seen = await operator.get("/settings/canned-replies", headers=EN)
    assert seen.status_code == 200
    assert "/prazo" in seen.text
    assert 'action="/settings/canned-replies"' not in seen.text
    refused = await operator.post("/settings/canned-replies", data={"shortcut": "x", "text": "y"})
    assert refused.status_code == 403


async def test_quoted_messages_are_read_in_one_query(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    async with direct_session(server.database_url) as session:
        first = await session.scalar(
            select(Message).where(Message.conversation_id == conversation_id)
        )
        assert first is not None
        common = {
            "org_id": first.org_id,
            "instance_id": first.instance_id,
            "conversation_id": conversation_id,
            "direction": "in",
            "author": "contact",
            "type": "text",
            "status": "delivered",
        }
        quoted = [Message(**common, text=f"q{i}", provider_message_id=f"q{i}") for i in range(5)]
        replies = [
            Message(
                **common, text=f"r{i}", provider_message_id=f"r{i}", reply_to_provider_id=f"q{i}"
            )
            for i in range(5)
        ]
        for i, reply in enumerate(replies):
            reply.reply_to_provider_id = f"q{i}"
        session.add_all(quoted + replies)
        await session.flush()
        statements: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            found = await thread.quoted_messages(
                session, org_id=first.org_id, conversation_id=conversation_id, messages=replies
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert {pid: q.text for pid, q in found.items()} == {f"q{i}": f"q{i}" for i in range(5)}
