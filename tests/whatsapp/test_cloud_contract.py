"""CloudProvider against a real HTTP server on loopback playing the Graph API."""

import hashlib
import hmac

import httpx
import pytest

from atende.whatsapp.providers.base import (
    InstanceRef,
    InstanceStatus,
    MessageType,
    OutboundMedia,
    Presence,
    ProviderError,
    WebhookRejected,
)
from atende.whatsapp.providers.cloud import CloudProvider
from tests.support.fake_graph import FakeGraph, graph_error
from tests.support.fake_http import Scripted
from tests.whatsapp.conftest import APP_SECRET, CLOUD_PHONE_ID, cloud_instance, post

CUSTOMER = "16505551234"
MESSAGES = f"/v21.0/{CLOUD_PHONE_ID}/messages"


@pytest.fixture
def cloud(http_client: httpx.AsyncClient, fake_graph: FakeGraph) -> CloudProvider:
    return CloudProvider(http_client, graph_base_url=fake_graph.base_url, timeout=0.5)


@pytest.fixture
def inst() -> InstanceRef:
    return cloud_instance()


async def test_connect_checks_the_token_and_reads_the_number(
    cloud: CloudProvider, fake_graph: FakeGraph, inst: InstanceRef
) -> None:
    result = await cloud.connect(inst)
    assert result.status is InstanceStatus.connected
    assert result.phone == "15550783881"
    assert result.qr is None
    req = fake_graph.last("GET", f"/v21.0/{CLOUD_PHONE_ID}")
    assert req.headers["authorization"] == "Bearer EAAG-test-token"
    assert "display_phone_number" in req.query["fields"]
    status = await cloud.status(inst)
    assert (status.status, status.phone) == (InstanceStatus.connected, "15550783881")
    await cloud.disconnect(inst)  # nothing to call
    assert len(fake_graph.requests) == 2


async def test_bad_token_fails_connect_and_shows_in_status(
    cloud: CloudProvider, fake_graph: FakeGraph
) -> None:
    bad = cloud_instance(token="expired")
    with pytest.raises(ProviderError) as caught:
        await cloud.connect(bad)
    assert caught.value.retryable is False
    assert "(190)" in caught.value.reason
    status = await cloud.status(bad)
    assert status.status is InstanceStatus.error
    assert status.reason is not None
    assert "token" in status.reason


async def test_send_text_and_reply(
    cloud: CloudProvider, fake_graph: FakeGraph, inst: InstanceRef
) -> None:
    sent = await cloud.send_text(inst, to="+1 650-555-1234", text="Hello!")
    assert sent.provider_message_id.startswith("wamid.FAKE")
    req = fake_graph.last("POST", MESSAGES)
    assert req.headers["authorization"] == "Bearer EAAG-test-token"
    assert req.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "Hello!", "preview_url": False},
    }
    await cloud.send_text(inst, to=CUSTOMER, text="Yes", reply_to="wamid.IN1")
    assert fake_graph.last("POST", MESSAGES).json["context"] == {"message_id": "wamid.IN1"}


async def test_send_media_uploads_bytes_first(
    cloud: CloudProvider, fake_graph: FakeGraph, inst: InstanceRef
) -> None:
    doc = OutboundMedia(
        MessageType.document, "application/pdf", "nota.pdf", data=b"%PDF-1.4", caption="Sua nota"
    )
    await cloud.send_media(inst, to=CUSTOMER, media=doc)
    upload = fake_graph.last("POST", f"/v21.0/{CLOUD_PHONE_ID}/media")
    assert upload.headers["authorization"] == "Bearer EAAG-test-token"
    assert upload.form == {"messaging_product": "whatsapp", "type": "application/pdf"}
    assert upload.files["file"] == ("nota.pdf", "application/pdf", b"%PDF-1.4")
    assert fake_graph.last("POST", MESSAGES).json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "document",
        "document": {"id": "media-1", "caption": "Sua nota", "filename": "nota.pdf"},
    }


async def test_send_media_by_link(
    cloud: CloudProvider, fake_graph: FakeGraph, inst: InstanceRef
) -> None:
    audio = OutboundMedia(
        MessageType.audio, "audio/ogg", "a.ogg", url="https://files.example/a.ogg", caption="x"
    )
    await cloud.send_media(inst, to=CUSTOMER, media=audio)
    body = fake_graph.last("POST", MESSAGES).json
    assert body["type"] == "audio"
    assert body["audio"] == {"link": "https://files.example/a.ogg"}  # audio takes no caption
    assert not any(r.path.endswith("/media") for r in fake_graph.requests)


async def test_mark_read_presence_and_typing(
    cloud: CloudProvider, fake_graph: FakeGraph, inst: InstanceRef
) -> None:
    await cloud.mark_read(inst, chat_id=CUSTOMER, provider_message_ids=["wamid.A", "wamid.B"])
    assert fake_graph.last("POST", MESSAGES).json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.B",
    }
    before = len(fake_graph.requests)
    await cloud.send_presence(inst, to=CUSTOMER, presence=Presence.typing)
    assert len(fake_graph.requests) == before  # documented no-op
    await cloud.send_typing(inst, message_id="wamid.B")
    assert fake_graph.last("POST", MESSAGES).json["typing_indicator"] == {"type": "text"}


@pytest.mark.parametrize(
    ("scripted", "retryable", "words"),
    [
        (Scripted(500, {"error": {"message": "Unknown error", "code": 1}}), True, "Unknown"),
        (Scripted(503, text="Service Unavailable"), True, "Service Unavailable"),
        (Scripted(*graph_error(429, 130429, "Rate limit hit")), True, "Rate limit"),
        (Scripted(*graph_error(400, 80007, "Rate limit issues")), True, "80007"),
        (Scripted(*graph_error(400, 131056, "Pair rate limit hit")), True, "131056"),
        (Scripted(200, delay=2.0), True, "timed out"),
        (
            Scripted(
                *graph_error(400, 131047, "Re-engagement message", "More than 24 hours have passed")
            ),
            False,
            "templates",
        ),
        (Scripted(*graph_error(400, 131026, "Message undeliverable")), False, "undeliverable"),
        (
            Scripted(*graph_error(400, 100, "(#100) Invalid parameter", "Param text['body'] bad")),
            False,
            "Param text['body'] bad",
        ),
    ],
)
async def test_graph_errors_map_to_retryable_or_not(
    cloud: CloudProvider,
    fake_graph: FakeGraph,
    inst: InstanceRef,
    scripted: Scripted,
    retryable: bool,
    words: str,
) -> None:
    fake_graph.script("POST", MESSAGES, scripted)
    with pytest.raises(ProviderError) as caught:
        await cloud.send_text(inst, to=CUSTOMER, text="x")
    assert caught.value.retryable is retryable
    assert words in caught.value.reason


async def test_webhook_signed_by_the_test_passes_and_tampered_fails(
    cloud: CloudProvider, inst: InstanceRef, http_client: httpx.AsyncClient
) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    cloud.verify_webhook(inst, post(body, {"x-hub-signature-256": f"sha256={signature}"}))
    assert cloud.parse_webhook(inst, post(body)) == []
    tampered = body.replace(b"[]", b"[ ]")
    with pytest.raises(WebhookRejected) as caught:
        cloud.verify_webhook(inst, post(tampered, {"x-hub-signature-256": f"sha256={signature}"}))
    assert caught.value.status == 401
