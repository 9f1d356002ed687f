"""The sandbox number end to end: pairing, customers writing, webhooks absorbed exactly once."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from atende.core.db import Database
from atende.whatsapp.models import Instance
from tests.support.server import Server
from tests.support.sse import SseEvent, iter_events
from tests.support.tenants import Tenant

CUSTOMER = "+5511987654321"


async def take(stream: AsyncIterator[SseEvent], count: int) -> list[SseEvent]:
    async def run() -> list[SseEvent]:
        return [await anext(stream) for _ in range(count)]

    return await asyncio.wait_for(run(), 10)


async def paired_instance(tenant: Tenant) -> dict[str, object]:
    created = await tenant.client.post("/api/v1/instances", json={"name": "Loja"})
    assert created.status_code == 201, created.text
    instance = created.json()
    connect = await tenant.client.post(f"/api/v1/instances/{instance['id']}/connect")
    assert connect.json()["status"] == "qr"
    scan = await tenant.client.post(
        f"/api/v1/sandbox/{instance['id']}/scan", json={"code": connect.json()["qr_code"]}
    )
    assert scan.status_code == 200, scan.text
    return dict(scan.json())


async def webhook_secret(server: Server, instance_id: int) -> str:
    """Reads the per-instance secret as the server stores it (encrypted) and decrypts it."""
    from atende.core.security import SecretBox

    database = Database(server.database_url)
    try:
        async with database.unit_of_work(write=False) as session:
            instance = await session.get(Instance, instance_id)
            assert instance is not None
            return SecretBox([server.env["ATENDE_SECRET_KEY"]]).decrypt(
                instance.webhook_secret_encrypted
            )
    finally:
        await database.dispose()


async def test_pairing_goes_through_qr_to_connected_live(tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/instances", json={"name": "Loja"})
    instance_id = created.json()["id"]
    assert created.json()["status"] == "disconnected"
    assert created.json()["webhook_url"].endswith(f"/webhooks/sandbox/{instance_id}")
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        connect = await tenant.client.post(f"/api/v1/instances/{instance_id}/connect")
        code = connect.json()["qr_code"]
        assert code
        assert connect.json()["qr_expires_at"]
        wrong = await tenant.client.post(
            f"/api/v1/sandbox/{instance_id}/scan", json={"code": "stale"}
        )
        assert wrong.status_code == 409
        scan = await tenant.client.post(f"/api/v1/sandbox/{instance_id}/scan", json={"code": code})
        seen = await take(events, 4)
    assert scan.json()["status"] == "connected"
    assert scan.json()["phone"]
    assert scan.json()["qr_code"] is None
    assert [(e.event, e.json["data"].get("status")) for e in seen] == [
        ("instance.status", "connecting"),
        ("instance.status", "qr"),
        ("instance.qr", None),
        ("instance.status", "connected"),
    ]
    assert "code" not in seen[2].json["data"]  # the pairing code is never broadcast


async def test_customer_message_is_stored_and_announced(tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        sent = await tenant.client.post(
            f"/api/v1/sandbox/{instance['id']}/messages",
            json={"from": CUSTOMER, "name": "Maria", "text": "Vocês abrem sábado?"},
        )
        created, updated = await take(events, 2)
    assert sent.status_code == 201
    assert created.event == "message.created"
    assert created.json["data"]["text"] == "Vocês abrem sábado?"
    assert created.json["data"]["author"] == "contact"
    assert updated.event == "conversation.updated"
    assert updated.json["data"]["unread_count"] == 1
    phone = await tenant.client.get(
        f"/api/v1/sandbox/{instance['id']}/messages", params={"customer": CUSTOMER}
    )
    (chat,) = phone.json()
    assert chat["customer"] == CUSTOMER
    assert [m["text"] for m in chat["messages"]] == ["Vocês abrem sábado?"]


async def test_brazilian_ninth_digit_variants_are_one_contact(tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    for number in ("+5511987654321", "+551187654321"):
        reply = await tenant.client.post(
            f"/api/v1/sandbox/{instance['id']}/messages", json={"from": number, "text": "oi"}
        )
        assert reply.status_code == 201
    chats = (await tenant.client.get(f"/api/v1/sandbox/{instance['id']}/messages")).json()
    assert [c["customer"] for c in chats] == ["+5511987654321"]
    assert len(chats[0]["messages"]) == 2


async def test_same_webhook_ten_times_concurrently_stores_once(
    server: Server, tenant: Tenant
) -> None:
    instance = await paired_instance(tenant)
    secret = await webhook_secret(server, int(str(instance["id"])))
    body = json.dumps({"from": CUSTOMER, "text": "duplicado?", "id": "wamid-dup-1"})
    url = f"/webhooks/sandbox/{instance['id']}"
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as provider,
        tenant.client.stream("GET", "/api/v1/events") as response,
    ):
        events = iter_events(response)
        replies = await asyncio.gather(
            *(
                provider.post(url, content=body, headers={"X-Atende-Secret": secret})
                for _ in range(10)
            )
        )
        created, _updated = await take(events, 2)
        # Something else afterwards: it must be the very next event (no second copy).
        await tenant.client.post(
            f"/api/v1/sandbox/{instance['id']}/messages", json={"from": CUSTOMER, "text": "x"}
        )
        following = await take(events, 1)
    assert [r.status_code for r in replies] == [200] * 10
    assert sum(r.json()["stored"] for r in replies) == 1
    assert sum(r.json()["duplicates"] for r in replies) == 9
    assert created.json["data"]["text"] == "duplicado?"
    assert following[0].json["data"]["text"] == "x"


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/webhooks/sandbox/{id}", {}, b'{"from": "+5511987654321", "text": "hi"}', 401),
        (
            "/webhooks/sandbox/{id}",
            {"X-Atende-Secret": "wrong"},
            b'{"from": "1", "text": "x"}',
            401,
        ),
        ("/webhooks/sandbox/{id}", "secret", b'{"from": "+55119', 400),
        ("/webhooks/sandbox/{id}", "secret", b"[]", 400),
        ("/webhooks/sandbox/999999999", "secret", b"{}", 404),
        ("/webhooks/telegram/{id}", "secret", b"{}", 404),
    ],
)
async def test_bad_webhooks_are_refused_and_change_nothing(
    server: Server,
    tenant: Tenant,
    path: str,
    headers: dict[str, str] | str,
    body: bytes,
    status: int,
) -> None:
    instance = await paired_instance(tenant)
    if headers == "secret":
        headers = {"X-Atende-Secret": await webhook_secret(server, int(str(instance["id"])))}
    assert isinstance(headers, dict)
    async with httpx.AsyncClient(base_url=server.base_url) as provider:
        reply = await provider.post(path.format(id=instance["id"]), content=body, headers=headers)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    chats = (await tenant.client.get(f"/api/v1/sandbox/{instance['id']}/messages")).json()
    assert chats == []


async def test_sandbox_has_no_verification_handshake(server: Server, tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    async with httpx.AsyncClient(base_url=server.base_url) as provider:
        reply = await provider.get(f"/webhooks/sandbox/{instance['id']}?hub.mode=subscribe")
    assert reply.status_code == 405


async def test_customer_messages_need_a_paired_phone(tenant: Tenant) -> None:
    created = await tenant.client.post("/api/v1/instances", json={"name": "Unpaired"})
    reply = await tenant.client.post(
        f"/api/v1/sandbox/{created.json()['id']}/messages", json={"from": CUSTOMER, "text": "oi"}
    )
    assert reply.status_code == 409


async def test_instance_validation_and_secrets_masked(tenant: Tenant) -> None:
    missing = await tenant.client.post(
        "/api/v1/instances", json={"name": "Evo", "provider": "evolution"}
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "config"
    created = await tenant.client.post(
        "/api/v1/instances",
        json={
            "name": "Evo",
            "provider": "evolution",
            "external_name": "loja",
            "config": {"base_url": "http://127.0.0.1:9", "api_key": "super-secret-key-1234"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["config"]["api_key"] == "••••1234"
    assert "super-secret" not in created.text
    unknown = await tenant.client.post(
        "/api/v1/instances", json={"name": "X", "provider": "telegram"}
    )
    assert unknown.status_code == 422


PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5E"
    "rkJggg=="
)


async def test_customer_sends_an_image_with_a_caption(tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    sent = await tenant.client.post(
        f"/api/v1/sandbox/{instance['id']}/messages",
        json={
            "from": CUSTOMER,
            "text": "Olha o defeito",
            "media": {"mime_type": "image/png", "filename": "foto.png", "data_base64": PNG_1PX},
        },
    )
    assert sent.status_code == 201, sent.text
    (chat,) = (
        await tenant.client.get(
            f"/api/v1/sandbox/{instance['id']}/messages", params={"customer": CUSTOMER}
        )
    ).json()
    (line,) = chat["messages"]
    assert (line["type"], line["text"]) == ("image", "Olha o defeito")
    media = await tenant.client.get(f"/api/v1/messages/{line['id']}/media")
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/png"
    nothing = await tenant.client.post(
        f"/api/v1/sandbox/{instance['id']}/messages", json={"from": CUSTOMER, "text": " "}
    )
    assert nothing.status_code == 422
