"""Contacts and assignment through the API."""

from tests.support.server import Server
from tests.support.tenants import Tenant, add_member
from tests.test_inbox_api import conversation_with_customer


async def test_contacts_list_find_rename_and_opt_out(tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)  # Maria, +55119876...
    page = (await tenant.client.get("/api/v1/contacts")).json()
    (contact,) = page["items"]
    assert contact["name"] == "Maria"
    assert [c["id"] for c in (await tenant.client.get(
        "/api/v1/contacts", params={"q": "mar"})).json()["items"]] == [contact["id"]]  # fmt: skip
    assert (await tenant.client.get("/api/v1/contacts", params={"q": "joão"})).json()["items"] == []
    detail = (await tenant.client.get(f"/api/v1/contacts/{contact['id']}")).json()
    assert detail["conversation_id"] == conversation_id
    renamed = await tenant.client.patch(
        f"/api/v1/contacts/{contact['id']}", json={"name": "Maria Souza", "opted_out": True}
    )
    assert renamed.json()["name"] == "Maria Souza"
    assert renamed.json()["opted_out"] is True
    refused = await tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Promoção!"}
    )
    assert refused.status_code == 409
    assert refused.json()["field"] == "contact"


async def test_assign_to_members_only(server: Server, tenant: Tenant, other_tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    _client, operator_id = await add_member(tenant, server.base_url, "operator")
    url = f"/api/v1/conversations/{conversation_id}/assign"
    assigned = await tenant.client.post(url, json={"assignee_user_id": operator_id})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee_user_id"] == operator_id
    stranger = await tenant.client.post(url, json={"assignee_user_id": other_tenant.user_id})
    assert stranger.status_code == 422
    assert stranger.json()["field"] == "assignee"
    cleared = await tenant.client.post(url, json={"assignee_user_id": None})
    assert cleared.json()["assignee_user_id"] is None
