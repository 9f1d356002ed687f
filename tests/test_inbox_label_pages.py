"""Labels, filters, assignment and contacts in the pages, through HTTP as a browser uses them:
both languages, the fragments live events fetch, forms with CSRF, precise refusals."""

import re

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member
from tests.test_inbox_api import conversation_with_customer
from tests.test_web_pages import signed_in
from tests.test_whatsapp_pages import EN, PT, form_token

HTMX = {"HX-Request": "true"}


async def label(tenant: Tenant, name: str, colour: str = "green") -> int:
    created = await tenant.client.post("/api/v1/labels", json={"name": name, "colour": colour})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def test_search_and_filter_bar_keep_their_state(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)  # Maria: "Olá!"
    vip = await label(tenant, "VIP")
    async with signed_in(server.base_url, tenant.email) as client:
        english = await client.get("/inbox", headers=EN)
        assert 'placeholder="Search messages…"' in english.text
        assert ">Assigned to me<" in english.text
        assert ">VIP<" in english.text  # the label filter offers the organisation's labels
        portuguese = await client.get("/inbox", headers=PT)
        assert ">Atribuídas a mim<" in portuguese.text
        assert "Não lidas</label>" in portuguese.text

        filtered = await client.get(f"/inbox?label={vip}&assignee=me&unread=1&q=ola", headers=EN)
        assert f'data-filters="?label={vip}&amp;assignee=me&amp;unread=1&amp;q=ola"' in (
            filtered.text
        )
        assert f'<option value="{vip}" selected>' in filtered.text
        assert '<option value="me" selected>' in filtered.text
        assert 'name="unread" value="1" checked' in filtered.text
        assert 'value="ola"' in filtered.text
        assert 'class="conv-row"' not in filtered.text  # not labelled, not assigned
        assert "No conversation matches these filters." in filtered.text

        side = await client.get(
            "/inbox/side?q=ola&mode=",
            headers={**HTMX, **EN, "HX-Current-URL": f"{server.base_url}/inbox/{conversation_id}"},
        )
        assert side.headers["HX-Push-Url"] == f"/inbox/{conversation_id}?q=ola"
        assert side.text.lstrip().startswith('<section class="inbox-side" id="inbox-side"')
        assert f'id="conv-{conversation_id}"' in side.text
        nothing = await client.get("/inbox/side?q=pizza", headers={**HTMX, **EN})
        assert nothing.headers["HX-Push-Url"] == "/inbox?q=pizza"
        assert 'class="conv-row"' not in nothing.text

        # A live row is checked against the page's filters: 204 drops it from that page.
        row = f"/inbox/rows/{conversation_id}"
        assert (await client.get(f"{row}?label={vip}")).status_code == 204
        assert (await client.get(f"{row}?q=pizza")).status_code == 204
        assert (await client.get(f"{row}?assignee=me")).status_code == 204
        await tenant.client.post(
            f"/api/v1/conversations/{conversation_id}/labels", json={"label_id": vip}
        )
        await tenant.client.post(
            f"/api/v1/conversations/{conversation_id}/assign",
            json={"assignee_user_id": tenant.user_id},
        )
        matching = await client.get(f"{row}?label={vip}&assignee=me&q=ola", headers=EN)
        assert matching.status_code == 200
        assert 'class="chip chip-green">VIP<' in matching.text
        assert "Assigned to Owner" in matching.text
        assert (await client.get(f"{row}?assignee=none")).status_code == 204
        more = await client.get(f"/inbox?label={vip}&assignee={tenant.user_id}", headers=EN)
        assert f'id="conv-{conversation_id}"' in more.text
        stale = await client.get("/inbox?label=abc&assignee=x&mode=nope&unread=2", headers=EN)
        assert stale.status_code == 200  # unknown values: everything
        assert f'id="conv-{conversation_id}"' in stale.text


async def test_header_adds_and_removes_labels_and_assigns(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    vip = await label(tenant, "VIP", "purple")
    await label(tenant, "Atraso", "red")
    base = f"/inbox/{conversation_id}"
    async with signed_in(server.base_url, tenant.email) as client:
        page = await client.get(base, headers=PT)
        assert ">Adicionar etiqueta<" in page.text
        assert ">Atribuir a mim<" in page.text
        assert (await client.post(f"{base}/labels", data={"label_id": vip})).status_code == 403
        token = form_token(client)
        added = await client.post(
            f"{base}/labels", data={"csrf_token": token, "label_id": vip}, headers={**HTMX, **EN}
        )
        assert added.status_code == 200, added.text
        assert 'id="conv-head"' in added.text
        assert f'data-labels="{vip}"' in added.text
        assert "Remove label VIP" in added.text
        unknown = await client.post(
            f"{base}/labels", data={"csrf_token": token, "label_id": 999999999}, headers=HTMX
        )
        assert unknown.status_code == 404
        mine = await client.post(
            f"{base}/assign", data={"csrf_token": token, "assign_me": "1"}, headers=HTMX
        )
        assert f'data-assignee="{tenant.user_id}"' in mine.text
        assert "data-assign-me" not in mine.text  # already mine
        removed = await client.post(
            f"{base}/labels/{vip}/remove", data={"csrf_token": token}, headers=HTMX
        )
        assert 'data-labels=""' in removed.text
        nobody = await client.post(f"{base}/assign", data={"csrf_token": token, "assignee": ""})
        assert nobody.status_code == 303
    after = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert after["labels"] == []
    assert after["assignee_user_id"] is None


async def test_labels_page_for_managers_and_operators(server: Server, tenant: Tenant) -> None:
    async with signed_in(server.base_url, tenant.email) as client:
        token = form_token(client)
        empty = await client.get("/labels", headers=PT)
        assert "Nenhuma etiqueta ainda." in empty.text
        created = await client.post(
            "/labels", data={"csrf_token": token, "name": "Urgente", "colour": "red"}
        )
        assert created.status_code == 303
        twin = await client.post(
            "/labels", data={"csrf_token": token, "name": "URGENTE"}, headers=PT
        )
        assert twin.status_code == 409
        assert "Já existe uma etiqueta com esse nome." in twin.text
        bad = await client.post(
            "/labels", data={"csrf_token": token, "name": "X", "colour": "gold"}, headers=EN
        )
        assert bad.status_code == 422
        (label_id,) = [x["id"] for x in (await tenant.client.get("/api/v1/labels")).json()]
        renamed = await client.post(
            f"/labels/{label_id}", data={"csrf_token": token, "name": "Urgent", "colour": "teal"}
        )
        assert renamed.status_code == 303
        page = await client.get("/labels", headers=EN)
        assert 'class="chip chip-teal">Urgent<' in page.text
        assert f'action="/labels/{label_id}/delete"' in page.text
    operator, _id = await add_member(tenant, server.base_url, "operator")
    seen = await operator.get("/labels", headers=EN)
    assert seen.status_code == 200
    assert ">Urgent<" in seen.text
    assert "/delete" not in seen.text
    refused = await operator.post(f"/labels/{label_id}/delete")
    assert refused.status_code == 403
    async with signed_in(server.base_url, tenant.email) as client:
        gone = await client.post(
            f"/labels/{label_id}/delete", data={"csrf_token": form_token(client)}
        )
        assert gone.status_code == 303
    assert (await tenant.client.get("/api/v1/labels")).json() == []


async def test_contacts_pages_list_edit_and_opt_out(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    vip = await label(tenant, "VIP")
    contact_id = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()[
        "contact"
    ]["id"]
    async with signed_in(server.base_url, tenant.email) as client:
        listed = await client.get("/contacts", headers=EN)
        assert 'href="/contacts"' in listed.text  # in the navigation
        assert f'href="/contacts/{contact_id}">Maria<' in listed.text
        assert (
            "Maria"
            not in (await client.get("/contacts?q=joão", headers=EN)).text.split("</form>")[-1]
        )
        assert "Nenhum contato corresponde." in (await client.get("/contacts?q=x", headers=PT)).text
        url = f"/contacts/{contact_id}"
        detail = await client.get(url, headers=PT)
        assert "Pode ser contatado" in detail.text
        assert f'href="/inbox/{conversation_id}"' in detail.text
        token = form_token(client)
        saved = await client.post(
            url, data={"csrf_token": token, "name": "Maria Souza", "labels": [str(vip)]}
        )
        assert saved.status_code == 303
        refused = await client.post(
            url, data={"csrf_token": token, "name": "Outra", "labels": ["999999999"]}, headers=PT
        )
        assert refused.status_code == 422
        assert "nada foi salvo" in refused.text
        shown = await client.get(url, headers=EN)
        assert 'value="Maria Souza"' in shown.text
        assert f'value="{vip}" checked' in shown.text
        opted = await client.post(f"{url}/opt-out", data={"csrf_token": token, "opted_out": "1"})
        assert opted.status_code == 303
        assert 'data-opted-out="true"' in (await client.get(url)).text
        assert re.search(r"Opted out", (await client.get("/contacts", headers=EN)).text)
    api = (await tenant.client.get(f"/api/v1/contacts/{contact_id}")).json()
    assert api["name"] == "Maria Souza"
    assert api["opted_out"] is True
    assert [x["name"] for x in api["labels"]] == ["VIP"]
    for path in (f"/contacts/{contact_id}", f"/inbox/{conversation_id}/header"):
        assert (await other_tenant.client.get(path)).status_code == 404
    stranger = await other_tenant.client.post(
        f"/inbox/{conversation_id}/labels", data={"label_id": vip}, headers=HTMX
    )
    assert stranger.status_code == 404
