"""Labels through the API: the organisation's list, labels on conversations and contacts,
bad input that changes nothing, and the service the agents' `add_label` tool calls."""

from atende.core.db import Database
from atende.inbox.labels import add_label_by_name
from tests.support.server import Server
from tests.support.sse import iter_events
from tests.support.tenants import Tenant, add_member
from tests.test_inbox_api import conversation_with_customer, events_until


async def make_label(tenant: Tenant, name: str, colour: str = "blue") -> dict[str, object]:
    response = await tenant.client.post("/api/v1/labels", json={"name": name, "colour": colour})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_labels_are_created_renamed_recoloured_and_deleted(tenant: Tenant) -> None:
    vip = await make_label(tenant, "  VIP  ", "purple")
    assert vip["name"] == "VIP"
    await make_label(tenant, "Complaint", "red")
    names = [label["name"] for label in (await tenant.client.get("/api/v1/labels")).json()]
    assert names == ["Complaint", "VIP"]

    twin = await tenant.client.post("/api/v1/labels", json={"name": "vip"})
    assert twin.status_code == 409
    assert twin.json()["field"] == "name"
    bad_colour = await tenant.client.post("/api/v1/labels", json={"name": "X", "colour": "#fff"})
    assert bad_colour.status_code == 422
    blank = await tenant.client.post("/api/v1/labels", json={"name": "   "})
    assert blank.status_code == 422

    url = f"/api/v1/labels/{vip['id']}"
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        renamed = await tenant.client.patch(url, json={"name": "Gold", "colour": "yellow"})
        seen = await events_until(
            events, lambda e: e.event == "label.changed" and e.json["data"]["name"] == "Gold"
        )
    assert seen[-1].json["data"] == {
        "label_id": vip["id"],
        "name": "Gold",
        "colour": "yellow",
        "deleted": False,
    }
    assert renamed.json() == {"id": vip["id"], "name": "Gold", "colour": "yellow"}
    clash = await tenant.client.patch(url, json={"name": "COMPLAINT"})
    assert clash.status_code == 409
    assert (await tenant.client.patch(url, json={"name": "gold"})).status_code == 200  # own name
    assert (await tenant.client.delete(url)).status_code == 204
    assert (await tenant.client.delete(url)).status_code == 404
    assert [x["name"] for x in (await tenant.client.get("/api/v1/labels")).json()] == ["Complaint"]


async def test_operators_use_labels_but_do_not_manage_them(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    vip = await make_label(tenant, "VIP")
    operator, _operator_id = await add_member(tenant, server.base_url, "operator")
    assert (await operator.post("/api/v1/labels", json={"name": "Mine"})).status_code == 403
    assert (await operator.delete(f"/api/v1/labels/{vip['id']}")).status_code == 403
    added = await operator.post(
        f"/api/v1/conversations/{conversation_id}/labels", json={"name": "vip"}
    )
    assert added.status_code == 200, added.text
    assert [label["name"] for label in added.json()["labels"]] == ["VIP"]


async def test_conversation_labels_by_id_or_name_live_and_precise_errors(tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    vip = await make_label(tenant, "VIP")
    url = f"/api/v1/conversations/{conversation_id}/labels"
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        added = await tenant.client.post(url, json={"label_id": vip["id"]})
        seen = await events_until(
            events,
            lambda e: e.event == "conversation.updated" and e.json["data"]["label_ids"],
        )
    assert added.status_code == 200
    assert seen[-1].json["data"]["label_ids"] == [vip["id"]]
    again = await tenant.client.post(url, json={"name": "VIP"})
    assert [label["id"] for label in again.json()["labels"]] == [vip["id"]]  # once

    unknown_id = await tenant.client.post(url, json={"label_id": 999_999_999})
    assert unknown_id.status_code == 422
    assert unknown_id.json()["field"] == "label_id"
    unknown_name = await tenant.client.post(url, json={"name": "Nope"})
    assert unknown_name.status_code == 422
    assert unknown_name.json()["field"] == "name"
    both = await tenant.client.post(url, json={"label_id": vip["id"], "name": "VIP"})
    assert both.status_code == 422
    assert (await tenant.client.post(url, json={})).status_code == 422

    listed = (await tenant.client.get("/api/v1/conversations")).json()["items"][0]
    assert listed["labels"] == [{"id": vip["id"], "name": "VIP", "colour": "blue"}]
    assert (await tenant.client.delete(f"{url}/{vip['id']}")).status_code == 204
    assert (await tenant.client.delete(f"{url}/999999999")).status_code == 404
    single = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert single["labels"] == []


async def test_contact_labels_are_all_valid_or_nothing_changes(tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    vip = await make_label(tenant, "VIP")
    late = await make_label(tenant, "Late payer", "orange")
    contact_id = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()[
        "contact"
    ]["id"]
    url = f"/api/v1/contacts/{contact_id}"
    both = await tenant.client.patch(url, json={"labels": [vip["id"], late["id"]]})
    assert both.status_code == 200, both.text
    assert [label["name"] for label in both.json()["labels"]] == ["Late payer", "VIP"]

    refused = await tenant.client.patch(url, json={"name": "Changed", "labels": [999_999_999]})
    assert refused.status_code == 422
    assert refused.json()["field"] == "labels"
    after = (await tenant.client.get(url)).json()
    assert after["name"] == "Maria"  # nothing half saved
    assert len(after["labels"]) == 2

    assert (await tenant.client.patch(url, json={"labels": []})).json()["labels"] == []
    await tenant.client.patch(url, json={"labels": [vip["id"]]})
    assert (await tenant.client.delete(f"/api/v1/labels/{vip['id']}")).status_code == 204
    assert (await tenant.client.get(url)).json()["labels"] == []


async def test_labels_of_another_organisation_cannot_be_used(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    theirs = await make_label(other_tenant, "Theirs")
    url = f"/api/v1/conversations/{conversation_id}/labels"
    assert (await tenant.client.post(url, json={"label_id": theirs["id"]})).status_code == 422
    assert (await tenant.client.post(url, json={"name": "Theirs"})).status_code == 422
    assert (await other_tenant.client.get("/api/v1/labels")).json()[0]["name"] == "Theirs"
    assert [x["name"] for x in (await tenant.client.get("/api/v1/labels")).json()] == []
    filtered = await tenant.client.get("/api/v1/conversations", params={"label_id": theirs["id"]})
    assert filtered.status_code == 422


async def test_add_label_by_name_for_the_agents_tool(server: Server, tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    await make_label(tenant, "Wants a human")
    database = Database(server.database_url)
    try:
        async with database.unit_of_work() as session:
            args = {"org_id": tenant.org_id, "conversation_id": conversation_id}
            assert await add_label_by_name(session, name="WANTS A HUMAN", **args) is True
            assert await add_label_by_name(session, name="wants a human", **args) is True
            assert await add_label_by_name(session, name="Invented", **args) is False
    finally:
        await database.dispose()
    labels = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()["labels"]
    assert [label["name"] for label in labels] == ["Wants a human"]
