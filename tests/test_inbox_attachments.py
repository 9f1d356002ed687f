"""Files people send: stored, queued, sent as WhatsApp media; bad files refused."""

import asyncio
import base64

import pytest

from tests.support.fake_evolution import FakeEvolution
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_inbox_api import conversation_with_customer
from tests.test_whatsapp_evolution_e2e import NAME, Number, wait_for

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


async def statuses(tenant: Tenant, conversation_id: int) -> dict[int, str]:
    items = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")).json()[
        "items"
    ]
    return {m["id"]: m["status"] for m in items}


async def test_a_file_is_stored_sent_and_served(tenant: Tenant) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    reply = await tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": ("cardapio.png", PNG, "image/png")},
        data={"caption": "Nosso cardápio"},
    )
    assert reply.status_code == 202, reply.text
    message = reply.json()
    assert (message["type"], message["text"], message["status"]) == (
        "image",
        "Nosso cardápio",
        "queued",
    )

    async def sent() -> bool:
        return (await statuses(tenant, conversation_id))[message["id"]] == "sent"

    await wait_for(sent)
    media = await tenant.client.get(f"/api/v1/messages/{message['id']}/media")
    assert media.status_code == 200
    assert media.content == PNG
    conversation = (await tenant.client.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert conversation["mode"] == "human"


@pytest.mark.parametrize(
    ("upload", "status"),
    [
        (("empty.txt", b"", "text/plain"), 422),
        (("page.html", b"<script>alert(1)</script>", "text/html"), 415),
    ],
)
async def test_bad_files_are_refused_and_nothing_is_queued(
    tenant: Tenant, upload: tuple[str, bytes, str], status: int
) -> None:
    _instance, conversation_id = await conversation_with_customer(tenant)
    before = await statuses(tenant, conversation_id)
    reply = await tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/attachments", files={"file": upload}
    )
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert await statuses(tenant, conversation_id) == before


async def test_evolution_receives_the_file_as_media(server: Server, tenant: Tenant) -> None:
    async with FakeEvolution() as evolution:
        number = Number(server, tenant, evolution)
        await number.pair()
        await number.fixture("connection-update-open.json")
        await number.fixture("messages-upsert-text.json")
        page = (await tenant.client.get("/api/v1/conversations")).json()
        conversation_id = page["items"][0]["id"]
        reply = await tenant.client.post(
            f"/api/v1/conversations/{conversation_id}/attachments",
            files={"file": ("contrato.pdf", b"%PDF-1.4 fake", "application/pdf")},
            data={"caption": "Segue o contrato"},
        )
        message_id = reply.json()["id"]

        async def sent() -> bool:
            return (await statuses(tenant, conversation_id))[message_id] == "sent"

        await wait_for(sent)
        await asyncio.sleep(0)
        call = evolution.last("POST", f"/message/sendMedia/{NAME}")
    assert call.json is not None
    assert call.json["mediatype"] == "document"
    assert call.json["mimetype"] == "application/pdf"
    assert call.json["caption"] == "Segue o contrato"
    assert call.json["fileName"] == "contrato.pdf"
    assert base64.b64decode(call.json["media"]) == b"%PDF-1.4 fake"
