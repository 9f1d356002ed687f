"""Canned replies: the organisation's `/shortcut` answers, managed by owners and admins."""

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member

URL = "/api/v1/canned-replies"


async def test_manage_canned_replies(tenant: Tenant, other_tenant: Tenant) -> None:
    created = await tenant.client.post(
        URL, json={"shortcut": "/Prices", "text": "A partir de R$ 10"}
    )
    assert created.status_code == 201, created.text
    reply = created.json()
    assert reply["shortcut"] == "prices"  # no slash, lower case
    second = await tenant.client.post(URL, json={"shortcut": "hours", "text": "9h às 18h"})
    assert second.status_code == 201
    assert [r["shortcut"] for r in (await tenant.client.get(URL)).json()] == ["hours", "prices"]

    changed = await tenant.client.patch(f"{URL}/{reply['id']}", json={"text": "Desde R$ 10"})
    assert changed.status_code == 200
    assert changed.json()["text"] == "Desde R$ 10"
    assert changed.json()["shortcut"] == "prices"
    renamed = await tenant.client.patch(f"{URL}/{reply['id']}", json={"shortcut": "/precos"})
    assert renamed.json()["shortcut"] == "precos"

    # Another organisation has its own (the same shortcut is fine there) and sees none of ours.
    assert (await other_tenant.client.get(URL)).json() == []
    theirs = await other_tenant.client.post(URL, json={"shortcut": "precos", "text": "Outro"})
    assert theirs.status_code == 201
    assert (
        await other_tenant.client.patch(f"{URL}/{reply['id']}", json={"text": "x"})
    ).status_code == 404

    assert (await tenant.client.delete(f"{URL}/{reply['id']}")).status_code == 204
    assert (await tenant.client.delete(f"{URL}/{reply['id']}")).status_code == 404
    assert [r["shortcut"] for r in (await tenant.client.get(URL)).json()] == ["hours"]


async def test_bad_canned_replies_are_refused(tenant: Tenant) -> None:
    first = await tenant.client.post(URL, json={"shortcut": "prices", "text": "R$ 10"})
    assert first.status_code == 201
    duplicate = await tenant.client.post(URL, json={"shortcut": "/PRICES", "text": "Other"})
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["field"] == "shortcut"
    for body in (
        {"shortcut": "", "text": "x"},
        {"shortcut": "/", "text": "x"},
        {"shortcut": "two words", "text": "x"},
        {"shortcut": "a" * 33, "text": "x"},
        {"shortcut": "ok", "text": ""},
        {"shortcut": "ok", "text": "   "},
        {"shortcut": "ok", "text": "x" * 4097},
        {"shortcut": "ok"},
        {"shortcut": "ok", "text": "x", "extra": 1},
    ):
        refused = await tenant.client.post(URL, json=body)
        assert refused.status_code == 422, (body, refused.text)
    other = await tenant.client.post(URL, json={"shortcut": "hours", "text": "9h"})
    taken = await tenant.client.patch(f"{URL}/{other.json()['id']}", json={"shortcut": "prices"})
    assert taken.status_code == 409
    assert [r["shortcut"] for r in (await tenant.client.get(URL)).json()] == ["hours", "prices"]


async def test_operators_use_canned_replies_but_do_not_manage_them(
    server: Server, tenant: Tenant
) -> None:
    made = await tenant.client.post(URL, json={"shortcut": "hi", "text": "Olá!"})
    operator, _user_id = await add_member(tenant, server.base_url, "operator")
    assert [r["text"] for r in (await operator.get(URL)).json()] == ["Olá!"]
    assert (await operator.post(URL, json={"shortcut": "x", "text": "y"})).status_code == 403
    patch = await operator.patch(f"{URL}/{made.json()['id']}", json={"text": "y"})
    assert patch.status_code == 403
    assert (await operator.delete(f"{URL}/{made.json()['id']}")).status_code == 403
