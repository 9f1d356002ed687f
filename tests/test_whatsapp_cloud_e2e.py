"""A Cloud API number end to end, against a loopback server speaking the Graph API: token check
on connect, the verification handshake, signed fixtures through the real intake, statuses of
sent messages, the 24-hour window, and inbound media fetched by the job and served."""

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from atende.core.db import utcnow
from atende.inbox.media import enqueue_media_fetch
from atende.inbox.models import Conversation, Message
from tests.support.direct_db import direct_session
from tests.support.fake_graph import FakeGraph
from tests.support.server import (
    Server,
    create_pg_database,
    drop_pg_database,
    start_server,
    stop_server,
)
from tests.support.tenants import Tenant, sign_up

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cloud"
APP_SECRET = "cloud-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
IMAGE_MEDIA_ID = "1003383421387256"
IMAGE = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same \xff\xd9"


@pytest.fixture(scope="module")
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as fake:
        yield fake


@pytest.fixture(scope="module")
async def cloud_server(
    backend: str, graph: FakeGraph, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """A server whose Graph API is the fake (the shared `server` cannot know its port)."""
    data_dir = tmp_path_factory.mktemp(f"cloud-{backend}")
    pg_name = None
    if backend == "postgresql":
        pg_name, url = await asyncio.to_thread(create_pg_database)
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'atende.db'}"
    srv = await asyncio.to_thread(start_server, data_dir, url, cloud_graph_url=graph.base_url)
    yield srv
    await asyncio.to_thread(stop_server, srv)
    if pg_name:
        await asyncio.to_thread(drop_pg_database, pg_name)


@pytest.fixture
async def owner(cloud_server: Server) -> AsyncIterator[Tenant]:
    tenant = await sign_up(cloud_server.base_url)
    yield tenant
    await tenant.aclose()


@pytest.fixture
async def stranger(cloud_server: Server) -> AsyncIterator[Tenant]:
    tenant = await sign_up(cloud_server.base_url, organisation="Other Co")
    yield tenant
    await tenant.aclose()


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    async def run() -> None:
        while not await check():
            await asyncio.sleep(0.1)

    await asyncio.wait_for(run(), timeout)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def fresh(fixture: str) -> bytes:
    """An inbound fixture as Meta would deliver it now (the window counts from its time)."""
    payload = json.loads((FIXTURES / fixture).read_bytes())
    for message in payload["entry"][0]["changes"][0]["value"]["messages"]:
        message["timestamp"] = str(int(time.time()))
    return json.dumps(payload).encode()


def status_for(fixture: str, provider_message_id: str) -> bytes:
    payload = json.loads((FIXTURES / fixture).read_bytes())
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = provider_message_id
    return json.dumps(payload).encode()


class Number:
    def __init__(self, server: Server, tenant: Tenant, graph: FakeGraph) -> None:
        self.server, self.tenant, self.graph = server, tenant, graph
        self.id = 0

    async def create(self) -> dict[str, Any]:
        created = await self.tenant.client.post(
            "/api/v1/instances",
            json={
                "name": "Loja Cloud",
                "provider": "cloud",
                "external_name": self.graph.phone_number_id,
                "config": {
                    "access_token": self.graph.token,
                    "app_secret": APP_SECRET,
                    "verify_token": VERIFY_TOKEN,
                },
            },
        )
        assert created.status_code == 201, created.text
        self.id = created.json()["id"]
        return dict(created.json())

    async def connect(self) -> dict[str, Any]:
        await self.create()
        connect = await self.tenant.client.post(f"/api/v1/instances/{self.id}/connect")
        assert connect.status_code == 200, connect.text
        return dict(connect.json())

    async def deliver(self, body: bytes, signature: str | None = None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        headers["X-Hub-Signature-256"] = signature if signature is not None else sign(body)
        async with httpx.AsyncClient(base_url=self.server.base_url) as meta:
            return await meta.post(f"/webhooks/cloud/{self.id}", content=body, headers=headers)

    async def fixture(self, name: str) -> httpx.Response:
        return await self.deliver((FIXTURES / name).read_bytes())

    async def customer_writes(self) -> int:
        """A customer message just now (the 24-hour window opens); its conversation id."""
        reply = await self.deliver(fresh("inbound-text.json"))
        assert reply.status_code == 200, reply.text
        return await self.conversation_id()

    async def conversation_id(self) -> int:
        page = (await self.tenant.client.get("/api/v1/conversations")).json()
        (conversation,) = page["items"]
        return int(conversation["id"])

    async def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        history = await self.tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
        assert history.status_code == 200, history.text
        return list(history.json()["items"])

    async def message(self, conversation_id: int, message_id: int) -> dict[str, Any]:
        return next(m for m in await self.messages(conversation_id) if m["id"] == message_id)

    async def send(self, conversation_id: int, text: str) -> int:
        sent = await self.tenant.client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}
        )
        assert sent.status_code == 202, sent.text
        return int(sent.json()["id"])

    async def settled(self, conversation_id: int, message_id: int) -> dict[str, Any]:
        async def done() -> bool:
            mine = await self.message(conversation_id, message_id)
            return bool(mine["status"] in ("sent", "failed"))

        await wait_for(done)
        return await self.message(conversation_id, message_id)


@pytest.fixture
def number(cloud_server: Server, owner: Tenant, graph: FakeGraph) -> Iterator[Number]:
    yield Number(cloud_server, owner, graph)
    graph.media.clear()


async def test_connect_checks_the_token_and_shows_the_phone(number: Number) -> None:
    connected = await number.connect()
    assert connected["status"] == "connected"
    assert connected["phone"] == "15550783881"
    check = number.graph.last("GET", f"/{number.graph.version}/{number.graph.phone_number_id}")
    assert check.headers["authorization"] == f"Bearer {number.graph.token}"


async def test_a_wrong_token_puts_the_number_in_error(number: Number) -> None:
    await number.create()
    patched = await number.tenant.client.patch(
        f"/api/v1/instances/{number.id}", json={"config": {"access_token": "EAAG-wrong"}}
    )
    assert patched.status_code == 200, patched.text
    connect = await number.tenant.client.post(f"/api/v1/instances/{number.id}/connect")
    state = (await number.tenant.client.get(f"/api/v1/instances/{number.id}")).json()
    assert connect.status_code == 502, connect.text
    assert state["status"] == "error"
    assert "access token" in state["status_reason"]


async def test_verification_handshake(number: Number) -> None:
    await number.create()
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with httpx.AsyncClient(base_url=number.server.base_url) as meta:
        right = await meta.get(f"/webhooks/cloud/{number.id}", params=query)
        wrong = await meta.get(
            f"/webhooks/cloud/{number.id}", params={**query, "hub.verify_token": "guess"}
        )
    assert right.status_code == 200
    assert right.text == "1158201444"
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text


async def test_signed_fixtures_are_stored_once_and_tampering_is_refused(number: Number) -> None:
    await number.connect()
    first = await number.fixture("inbound-text.json")
    again = await number.fixture("inbound-text.json")
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 1, "duplicates": 0}
    assert again.json() == {"stored": 0, "duplicates": 1}
    body = (FIXTURES / "inbound-reply-with-context.json").read_bytes()
    tampered = await number.deliver(body.replace(b'"1749', b'"1748', 1), signature=sign(body))
    unsigned = await number.deliver(body, signature="")
    other_secret = await number.deliver(body, signature=sign(body, "not-the-app-secret"))
    assert [r.status_code for r in (tampered, unsigned, other_secret)] == [401, 401, 401]
    conversation_id = await number.conversation_id()
    assert len(await number.messages(conversation_id)) == 1  # nothing of the refused ones
    reply = await number.deliver(body)
    assert reply.json()["stored"] == 1


async def test_statuses_move_sent_messages_on(number: Number) -> None:
    await number.connect()
    conversation_id = await number.customer_writes()
    message_id = await number.send(conversation_id, "Olá! Como posso ajudar?")
    sent = await number.settled(conversation_id, message_id)
    assert sent["status"] == "sent", sent
    provider_id = sent["provider_message_id"]
    call = number.graph.last(
        "POST", f"/{number.graph.version}/{number.graph.phone_number_id}/messages"
    )
    assert call.json["text"]["body"] == "Olá! Como posso ajudar?"
    assert call.json["to"] == "16505551234"
    for fixture in ("status-sent.json", "status-read.json"):
        reply = await number.deliver(status_for(fixture, provider_id))
        assert reply.status_code == 200, reply.text
    assert (await number.message(conversation_id, message_id))["status"] == "read"
    # A second message that Meta could not deliver: failed, with Meta's reason.
    second = await number.send(conversation_id, "Ainda aí?")
    second_id = (await number.settled(conversation_id, second))["provider_message_id"]
    failed = await number.deliver(status_for("status-failed-outside-window.json", second_id))
    assert failed.status_code == 200, failed.text
    mine = await number.message(conversation_id, second)
    assert mine["status"] == "failed"
    assert "24 hours" in mine["error"]


async def test_outside_the_24_hour_window_the_sender_refuses(number: Number) -> None:
    await number.connect()
    conversation_id = await number.customer_writes()
    async with direct_session(number.server.database_url) as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
    sends_before = len([r for r in number.graph.requests if r.path.endswith("/messages")])
    message_id = await number.send(conversation_id, "Oi de novo")
    mine = await number.settled(conversation_id, message_id)
    assert mine["status"] == "failed"
    assert "24-hour window" in mine["error"]
    assert len([r for r in number.graph.requests if r.path.endswith("/messages")]) == sends_before


async def test_inbound_image_is_fetched_and_served_to_members_only(
    number: Number, stranger: Tenant
) -> None:
    number.graph.media[IMAGE_MEDIA_ID] = ("image/jpeg", IMAGE)
    await number.connect()
    stored = await number.fixture("inbound-image.json")
    assert stored.json()["stored"] == 1, stored.text
    conversation_id = await number.conversation_id()
    (image,) = await number.messages(conversation_id)
    assert image["type"] == "image"
    assert image["media"]["provider_media_id"] == IMAGE_MEDIA_ID
    async with direct_session(number.server.database_url) as session:
        # What the intake does for media that did not arrive inline (a no-op once it does).
        message = await session.scalar(select(Message).where(Message.id == image["id"]))
        assert message is not None
        await enqueue_media_fetch(
            session, org_id=message.org_id, instance_id=message.instance_id, message_id=message.id
        )
    url = f"/api/v1/messages/{image['id']}/media"

    async def fetched() -> bool:
        response = await number.tenant.client.get(url)
        assert response.status_code in (200, 409), response.text
        return response.status_code == 200

    await wait_for(fetched, timeout=30)
    served = await number.tenant.client.get(url)
    assert served.content == IMAGE
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"].startswith("private, max-age=")
    assert served.headers["content-disposition"].startswith("inline; filename=")
    lookup = number.graph.last("GET", f"/{number.graph.version}/{IMAGE_MEDIA_ID}")
    assert lookup.headers["authorization"] == f"Bearer {number.graph.token}"
    assert lookup.query["phone_number_id"] == number.graph.phone_number_id
    download = number.graph.last("GET", "/whatsapp_business/attachments/")
    assert download.headers["authorization"] == f"Bearer {number.graph.token}"
    media = (await number.message(conversation_id, image["id"]))["media"]
    assert media["sha256"] == hashlib.sha256(IMAGE).hexdigest()
    assert media["size"] == len(IMAGE)
    foreign = await stranger.client.get(url)
    assert foreign.status_code == 404
    assert foreign.content != IMAGE


async def test_media_gone_from_the_graph_is_recorded_as_failed(number: Number) -> None:
    await number.connect()  # no media registered on the fake: Graph answers an error
    await number.fixture("inbound-image.json")
    conversation_id = await number.conversation_id()
    (image,) = await number.messages(conversation_id)
    async with direct_session(number.server.database_url) as session:
        message = await session.scalar(select(Message).where(Message.id == image["id"]))
        assert message is not None
        await enqueue_media_fetch(
            session, org_id=message.org_id, instance_id=message.instance_id, message_id=message.id
        )

    async def failed() -> bool:
        media = (await number.message(conversation_id, image["id"]))["media"]
        return bool(media.get("error"))

    await wait_for(failed, timeout=30)
    served = await number.tenant.client.get(f"/api/v1/messages/{image['id']}/media")
    assert served.status_code == 404
    assert "could not be downloaded" in served.json()["detail"]
