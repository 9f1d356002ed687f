"""An Evolution API number end to end, against a loopback server speaking Evolution's protocol:
pairing with the webhook set up, fixtures through the real intake, sends with retries."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.fake_evolution import QR_CODE, FakeEvolution
from tests.support.fake_http import Scripted
from tests.support.server import Server
from tests.support.tenants import Tenant

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "evolution"
NAME = "agent-01"


@pytest.fixture
async def evolution() -> AsyncIterator[FakeEvolution]:
    async with FakeEvolution() as fake:
        yield fake


async def wait_for(check: object, timeout: float = 15) -> None:
    async def run() -> None:
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.1)

    await asyncio.wait_for(run(), timeout)


class Number:
    def __init__(self, server: Server, tenant: Tenant, evolution: FakeEvolution) -> None:
        self.server, self.tenant, self.evolution = server, tenant, evolution
        self.id = 0
        self.secret = ""

    async def pair(self) -> dict[str, object]:
        created = await self.tenant.client.post(
            "/api/v1/instances",
            json={
                "name": "Loja Evolution",
                "provider": "evolution",
                "external_name": NAME,
                "config": {"base_url": self.evolution.base_url, "api_key": self.evolution.api_key},
            },
        )
        assert created.status_code == 201, created.text
        self.id = created.json()["id"]
        connect = await self.tenant.client.post(f"/api/v1/instances/{self.id}/connect")
        assert connect.status_code == 200, connect.text
        webhook = self.evolution.webhooks[NAME]
        self.secret = webhook["headers"]["X-Atende-Secret"]
        return dict(connect.json())

    async def deliver(self, body: bytes) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.server.base_url) as provider:
            return await provider.post(
                f"/webhooks/evolution/{self.id}",
                content=body,
                headers={"X-Atende-Secret": self.secret, "content-type": "application/json"},
            )

    async def fixture(self, name: str) -> httpx.Response:
        return await self.deliver((FIXTURES / name).read_bytes())


@pytest.fixture
async def number(server: Server, tenant: Tenant, evolution: FakeEvolution) -> Number:
    return Number(server, tenant, evolution)


async def test_pairing_sets_the_webhook_and_follows_connection_events(number: Number) -> None:
    connect = await number.pair()
    assert connect["status"] == "qr"
    assert connect["qr_code"] == QR_CODE
    webhook = number.evolution.webhooks[NAME]
    assert webhook["url"] == connect["webhook_url"]
    assert webhook["enabled"] is True
    assert "MESSAGES_UPSERT" in webhook["events"]
    create = number.evolution.last("POST", "/instance/create")
    assert create.headers["apikey"] == number.evolution.api_key
    opened = await number.fixture("connection-update-open.json")
    assert opened.status_code == 200
    state = (await number.tenant.client.get(f"/api/v1/instances/{number.id}")).json()
    assert state["status"] == "connected"
    logged_out = await number.fixture("connection-update-close-logged-out.json")
    assert logged_out.status_code == 200
    state = (await number.tenant.client.get(f"/api/v1/instances/{number.id}")).json()
    assert state["status"] == "disconnected"
    assert "scan" in (state["status_reason"] or "").lower()


async def test_fixture_messages_are_stored_once_and_phone_messages_pause_the_bot(
    number: Number,
) -> None:
    await number.pair()
    await number.fixture("connection-update-open.json")
    first = await number.fixture("messages-upsert-text.json")
    again = await number.fixture("messages-upsert-text.json")
    assert first.json() == {"stored": 1, "duplicates": 0}
    assert again.json() == {"stored": 0, "duplicates": 1}
    page = (await number.tenant.client.get("/api/v1/conversations")).json()
    (conversation,) = page["items"]
    assert conversation["contact"]["name"] == "Maria"
    assert conversation["contact"]["phone"] == "+5511999998888"
    assert conversation["mode"] == "bot"
    for name in (
        "messages-upsert-image.json",
        "messages-upsert-voice-note.json",
        "messages-upsert-group.json",
        "messages-upsert-lid.json",
        "messages-upsert-extended-text-legacy.json",
        "messages-upsert-from-phone.json",
    ):
        reply = await number.fixture(name)
        assert reply.status_code == 200, (name, reply.text)
        assert reply.json()["stored"] == 1, name
    page = (await number.tenant.client.get("/api/v1/conversations")).json()
    modes = {c["contact"]["phone"] or c["contact"]["wa_id"]: c["mode"] for c in page["items"]}
    assert "human" in modes.values()  # the phone's own message handed a chat to people


async def test_send_retries_provider_failures_then_succeeds(number: Number) -> None:
    await number.pair()
    await number.fixture("connection-update-open.json")
    await number.fixture("messages-upsert-text.json")
    page = (await number.tenant.client.get("/api/v1/conversations")).json()
    conversation_id = page["items"][0]["id"]
    path = f"/message/sendText/{NAME}"
    number.evolution.script("POST", path, Scripted(status=500), Scripted(status=503))
    sent = await number.tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Já respondo!"}
    )
    message_id = sent.json()["id"]

    async def settled() -> bool:
        history = await number.tenant.client.get(
            f"/api/v1/conversations/{conversation_id}/messages"
        )
        mine = next(m for m in history.json()["items"] if m["id"] == message_id)
        return bool(mine["status"] in ("sent", "failed"))

    await wait_for(settled, timeout=30)
    history = await number.tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    mine = next(m for m in history.json()["items"] if m["id"] == message_id)
    assert mine["status"] == "sent"
    assert mine["provider_message_id"].startswith("3EB0FAKE")
    calls = [r for r in number.evolution.requests if r.path == path]
    assert len(calls) == 3  # two refusals, one success: never a second copy
    assert calls[-1].json == {"number": "5511999998888", "text": "Já respondo!"}
    assert calls[-1].headers["apikey"] == number.evolution.api_key
    # The delivery receipt for that id moves it on, live.
    update = json.dumps(
        {
            "event": "messages.update",
            "instance": NAME,
            "data": {
                "keyId": mine["provider_message_id"],
                "remoteJid": "5511999998888@s.whatsapp.net",
                "fromMe": True,
                "status": "READ",
            },
        }
    ).encode()
    assert (await number.deliver(update)).status_code == 200
    history = await number.tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    mine = next(m for m in history.json()["items"] if m["id"] == message_id)
    assert mine["status"] == "read"


async def test_send_refused_by_the_provider_fails_with_its_reason(number: Number) -> None:
    await number.pair()
    await number.fixture("connection-update-open.json")
    await number.fixture("messages-upsert-text.json")
    conversation_id = (await number.tenant.client.get("/api/v1/conversations")).json()["items"][0][
        "id"
    ]
    number.evolution.script(
        "POST",
        f"/message/sendText/{NAME}",
        Scripted(
            status=400,
            json={
                "status": 400,
                "error": "Bad Request",
                "response": {"message": ["number does not exist"]},
            },
        ),
    )
    sent = await number.tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Olá"}
    )
    message_id = sent.json()["id"]

    async def failed() -> bool:
        history = await number.tenant.client.get(
            f"/api/v1/conversations/{conversation_id}/messages"
        )
        mine = next(m for m in history.json()["items"] if m["id"] == message_id)
        return bool(mine["status"] == "failed")

    await wait_for(failed)
    history = await number.tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    mine = next(m for m in history.json()["items"] if m["id"] == message_id)
    assert "number does not exist" in mine["error"]


async def test_wrong_secret_stores_nothing(number: Number) -> None:
    await number.pair()
    async with httpx.AsyncClient(base_url=number.server.base_url) as provider:
        reply = await provider.post(
            f"/webhooks/evolution/{number.id}",
            content=(FIXTURES / "messages-upsert-text.json").read_bytes(),
            headers={"X-Atende-Secret": "guess"},
        )
    assert reply.status_code == 401
    assert (await number.tenant.client.get("/api/v1/conversations")).json()["items"] == []
