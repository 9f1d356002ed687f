"""EvolutionProvider against a real HTTP server on loopback playing Evolution API v2."""

import base64

import httpx
import pytest

from atende.whatsapp.providers.base import (
    InstanceRef,
    InstanceStatus,
    MessageType,
    OutboundMedia,
    Presence,
    ProviderError,
)
from atende.whatsapp.providers.evolution import WEBHOOK_EVENTS, EvolutionProvider
from tests.support.fake_evolution import QR_CODE, FakeEvolution, evolution_error
from tests.support.fake_http import Scripted
from tests.whatsapp.conftest import EVOLUTION_NAME, WEBHOOK_SECRET, evolution_instance

MARIA = "5511999998888"


@pytest.fixture
def evolution(http_client: httpx.AsyncClient) -> EvolutionProvider:
    return EvolutionProvider(http_client, timeout=0.5, connect_timeout=0.5, presence_ms=1200)


def instance_of(fake: FakeEvolution, api_key: str | None = None) -> InstanceRef:
    return evolution_instance(fake.base_url, api_key or fake.api_key)


async def test_connect_creates_sets_the_webhook_and_returns_the_qr(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    inst = instance_of(fake_evolution)
    result = await evolution.connect(inst)
    assert result.status is InstanceStatus.qr
    assert result.qr is not None
    assert result.qr.code == QR_CODE
    paths = [(r.method, r.path) for r in fake_evolution.requests]
    assert paths == [
        ("POST", "/instance/create"),
        ("POST", f"/webhook/set/{EVOLUTION_NAME}"),
        ("GET", f"/instance/connect/{EVOLUTION_NAME}"),
    ]
    assert all(r.headers["apikey"] == fake_evolution.api_key for r in fake_evolution.requests)
    create = fake_evolution.requests[0].json
    assert create["instanceName"] == EVOLUTION_NAME
    assert create["integration"] == "WHATSAPP-BAILEYS"
    assert fake_evolution.requests[1].json == {
        "webhook": {
            "enabled": True,
            "url": inst.webhook_url,
            "headers": {"X-Atende-Secret": WEBHOOK_SECRET},
            "byEvents": False,
            "base64": True,
            "events": WEBHOOK_EVENTS,
        }
    }
    assert set(WEBHOOK_EVENTS) == {
        "CONNECTION_UPDATE",
        "QRCODE_UPDATED",
        "MESSAGES_UPSERT",
        "MESSAGES_UPDATE",
        "SEND_MESSAGE",
    }


async def test_connect_attaches_to_an_existing_instance(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    result = await evolution.connect(instance_of(fake_evolution))
    assert result.status is InstanceStatus.connected
    assert result.qr is None
    assert fake_evolution.webhooks[EVOLUTION_NAME]["url"].endswith("/webhooks/evolution/1")


async def test_connect_attaches_on_409_too(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "close"
    conflict = Scripted(409, evolution_error(409, "Conflict", "Instance already in use")[1])
    fake_evolution.script("POST", "/instance/create", conflict)
    result = await evolution.connect(instance_of(fake_evolution))
    assert result.status is InstanceStatus.qr


async def test_wrong_api_key_is_not_retryable(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    with pytest.raises(ProviderError) as caught:
        await evolution.connect(instance_of(fake_evolution, api_key="wrong"))
    assert caught.value.retryable is False
    assert caught.value.status == 401
    assert "Unauthorized" in caught.value.reason


async def test_status_and_disconnect(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    inst = instance_of(fake_evolution)
    missing = await evolution.status(inst)
    assert missing.status is InstanceStatus.disconnected
    assert missing.reason is not None
    assert "does not exist" in missing.reason
    fake_evolution.states[EVOLUTION_NAME] = "open"
    assert (await evolution.status(inst)).status is InstanceStatus.connected
    await evolution.disconnect(inst)
    assert fake_evolution.last("DELETE", f"/instance/logout/{EVOLUTION_NAME}")
    assert (await evolution.status(inst)).status is InstanceStatus.disconnected
    await evolution.disconnect(inst)  # already logged out: Evolution's 400 is not an error
    assert fake_evolution.last("GET", f"/instance/connectionState/{EVOLUTION_NAME}")


async def test_send_text_with_quote(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    inst = instance_of(fake_evolution)
    result = await evolution.send_text(
        inst, to=f"{MARIA}@s.whatsapp.net", text="Olá!", reply_to="3EB0QUOTED"
    )
    assert result.provider_message_id.startswith("3EB0FAKE")
    req = fake_evolution.last("POST", f"/message/sendText/{EVOLUTION_NAME}")
    assert req.headers["apikey"] == fake_evolution.api_key
    assert req.json == {"number": MARIA, "text": "Olá!", "quoted": {"key": {"id": "3EB0QUOTED"}}}


async def test_send_text_to_a_group_keeps_the_group_id(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    group = "120363025246125888@g.us"
    await evolution.send_text(instance_of(fake_evolution), to=group, text="oi")
    assert fake_evolution.last("POST", f"/message/sendText/{EVOLUTION_NAME}").json == {
        "number": group,
        "text": "oi",
    }


async def test_send_media_bytes_and_url(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    inst = instance_of(fake_evolution)
    path = f"/message/sendMedia/{EVOLUTION_NAME}"
    image = OutboundMedia(
        MessageType.image, "image/png", "a.png", data=b"\x89PNG-bytes", caption="Veja"
    )
    sent = await evolution.send_media(inst, to=MARIA, media=image)
    assert sent.provider_message_id
    assert fake_evolution.last("POST", path).json == {
        "number": MARIA,
        "mediatype": "image",
        "mimetype": "image/png",
        "caption": "Veja",
        "media": base64.b64encode(b"\x89PNG-bytes").decode(),
        "fileName": "a.png",
    }
    doc = OutboundMedia(
        MessageType.document, "application/pdf", "n.pdf", url="https://files.example/n.pdf"
    )
    await evolution.send_media(inst, to=MARIA, media=doc)
    body = fake_evolution.last("POST", path).json
    assert body["media"] == "https://files.example/n.pdf"
    assert body["mediatype"] == "document"
    assert "caption" not in body


async def test_presence_and_mark_read(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    inst = instance_of(fake_evolution)
    await evolution.send_presence(inst, to=MARIA, presence=Presence.typing)
    assert fake_evolution.last("POST", f"/chat/sendPresence/{EVOLUTION_NAME}").json == {
        "number": MARIA,
        "presence": "composing",
        "delay": 1200,
    }
    await evolution.mark_read(inst, chat_id=MARIA, provider_message_ids=["A", "B"])
    assert fake_evolution.last("POST", f"/chat/markMessageAsRead/{EVOLUTION_NAME}").json == {
        "readMessages": [
            {"remoteJid": f"{MARIA}@s.whatsapp.net", "fromMe": False, "id": "A"},
            {"remoteJid": f"{MARIA}@s.whatsapp.net", "fromMe": False, "id": "B"},
        ]
    }


@pytest.mark.parametrize(
    ("scripted", "retryable", "words"),
    [
        (Scripted(500, {"status": 500, "error": "Internal Server Error"}), True, "500"),
        (Scripted(502, text="<html>bad gateway</html>"), True, "bad gateway"),
        (Scripted(429, {"message": "Too many requests"}), True, "Too many"),
        (Scripted(200, delay=2.0), True, "timed out"),
        (
            Scripted(400, evolution_error(400, "Bad Request", {"exists": False})[1]),
            False,
            "exists",
        ),
        (
            Scripted(404, evolution_error(404, "Not Found", "instance does not exist")[1]),
            False,
            "does not exist",
        ),
    ],
)
async def test_errors_map_to_retryable_or_not(
    evolution: EvolutionProvider,
    fake_evolution: FakeEvolution,
    scripted: Scripted,
    retryable: bool,
    words: str,
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    fake_evolution.script("POST", f"/message/sendText/{EVOLUTION_NAME}", scripted)
    with pytest.raises(ProviderError) as caught:
        await evolution.send_text(instance_of(fake_evolution), to=MARIA, text="x")
    assert caught.value.retryable is retryable
    assert words in caught.value.reason


async def test_connection_refused_is_retryable(http_client: httpx.AsyncClient) -> None:
    evolution = EvolutionProvider(http_client, timeout=0.5)
    async with FakeEvolution() as fake:
        inst = instance_of(fake)
    # The server is gone: nothing listens on that port any more.
    with pytest.raises(ProviderError) as caught:
        await evolution.send_text(inst, to=MARIA, text="x")
    assert caught.value.retryable is True
    assert "connection failed" in caught.value.reason


async def test_answer_without_message_id_is_not_retried(
    evolution: EvolutionProvider, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.states[EVOLUTION_NAME] = "open"
    fake_evolution.script("POST", f"/message/sendText/{EVOLUTION_NAME}", Scripted(201, {}))
    with pytest.raises(ProviderError) as caught:
        await evolution.send_text(instance_of(fake_evolution), to=MARIA, text="x")
    assert caught.value.retryable is False


async def test_misconfigured_base_url_is_not_retryable(http_client: httpx.AsyncClient) -> None:
    evolution = EvolutionProvider(http_client)
    inst = evolution_instance("ftp://evolution.example")
    with pytest.raises(ProviderError) as caught:
        await evolution.send_text(inst, to=MARIA, text="x")
    assert caught.value.retryable is False
    status = await evolution.status(inst)  # shown on the instance, not raised
    assert status.status is InstanceStatus.error
    assert status.reason is not None
