"""Cloud API webhook bodies → normalised events; signature, handshake and the 24 h window."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from atende.whatsapp.providers.base import (
    DeliveryStatus,
    InboundMessage,
    MessageType,
    ProviderEvent,
    StatusUpdate,
    WebhookRejected,
    WebhookRequest,
)
from atende.whatsapp.providers.cloud import CloudProvider, cloud_window_open
from tests.whatsapp.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    cloud_instance,
    fixture_bytes,
    fixture_dir,
    fixture_json,
    post,
)

# Parsing makes no requests: this client never opens a connection.
_PROVIDER = CloudProvider(httpx.AsyncClient())
CUSTOMER = "16505551234"


def parse_body(body: bytes) -> list[ProviderEvent]:
    return _PROVIDER.parse_webhook(cloud_instance(), post(body))


def parse_fixture(name: str) -> list[ProviderEvent]:
    return parse_body(fixture_bytes("cloud", name))


def sign(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}"}


def test_inbound_text() -> None:
    (msg,) = parse_fixture("inbound-text.json")
    assert isinstance(msg, InboundMessage)
    assert (
        msg.provider_message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    )
    assert (msg.chat_id, msg.sender_id, msg.phone) == (CUSTOMER, CUSTOMER, CUSTOMER)
    assert msg.sender_name == "Sheena Nelson"
    assert msg.type is MessageType.text
    assert msg.text == "Does it come in another color?"
    assert msg.timestamp == datetime.fromtimestamp(1749416383, tz=UTC)
    assert not msg.from_me
    assert not msg.is_group
    assert msg.reply_to is None


def test_inbound_reply_with_context() -> None:
    (msg,) = parse_fixture("inbound-reply-with-context.json")
    assert isinstance(msg, InboundMessage)
    assert msg.provider_message_id == "wamid.INBOUNDREPLY00000000000000000002"
    assert msg.reply_to == "wamid.OUTBOUND000000000000000000000001"
    assert msg.text == "Yes, the blue one please"


def test_inbound_image_is_a_media_id() -> None:
    (msg,) = parse_fixture("inbound-image.json")
    assert isinstance(msg, InboundMessage)
    assert msg.type is MessageType.image
    assert msg.text == "This one"
    assert msg.media is not None
    assert msg.media.provider_media_id == "1003383421387256"
    assert msg.media.mime_type == "image/jpeg"
    assert msg.media.url is None


def test_status_sent() -> None:
    assert parse_fixture("status-sent.json") == [
        StatusUpdate(
            provider_message_id="wamid.OUTBOUND000000000000000000000001",
            status=DeliveryStatus.sent,
            timestamp=datetime.fromtimestamp(1749416390, tz=UTC),
            chat_id=CUSTOMER,
        )
    ]


def test_status_read() -> None:
    (update,) = parse_fixture("status-read.json")
    assert isinstance(update, StatusUpdate)
    assert update.status is DeliveryStatus.read
    assert update.provider_message_id == "wamid.OUTBOUND000000000000000000000001"
    assert update.error is None


def test_status_failed_outside_window_has_a_clear_reason() -> None:
    (update,) = parse_fixture("status-failed-outside-window.json")
    assert isinstance(update, StatusUpdate)
    assert update.status is DeliveryStatus.failed
    assert update.provider_message_id == "wamid.OUTBOUND000000000000000000000009"
    assert update.error is not None
    assert "24 hours" in update.error
    assert "templates" in update.error
    assert "(131047)" in update.error


def test_other_phone_number_ids_are_ignored() -> None:
    body = fixture_json("cloud", "inbound-text.json")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert parse_body(json.dumps(body).encode()) == []


def test_several_entries_and_messages_in_one_post() -> None:
    text = fixture_json("cloud", "inbound-text.json")
    status = fixture_json("cloud", "status-read.json")
    second = dict(text["entry"][0]["changes"][0]["value"]["messages"][0], id="wamid.SECOND")
    text["entry"][0]["changes"][0]["value"]["messages"].append(second)
    text["entry"].extend(status["entry"])
    events = parse_body(json.dumps(text).encode())
    assert [type(e).__name__ for e in events] == [
        "InboundMessage",
        "InboundMessage",
        "StatusUpdate",
    ]
    assert isinstance(events[1], InboundMessage)
    assert events[1].provider_message_id == "wamid.SECOND"


def message_of(kind: str, content: Any, **more: Any) -> InboundMessage:
    body = fixture_json("cloud", "inbound-text.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message.update({"type": kind, kind: content, **more})
    (msg,) = parse_body(json.dumps(body).encode())
    assert isinstance(msg, InboundMessage)
    return msg


def test_voice_note_video_document_sticker() -> None:
    voice = message_of("audio", {"id": "m1", "mime_type": "audio/ogg; codecs=opus", "voice": True})
    assert voice.type is MessageType.audio
    assert voice.media is not None
    assert voice.media.voice_note is True
    doc = message_of("document", {"id": "m2", "mime_type": "application/pdf", "filename": "a.pdf"})
    assert doc.type is MessageType.document
    assert doc.media is not None
    assert doc.media.filename == "a.pdf"
    assert message_of("video", {"id": "m3", "mime_type": "video/mp4"}).type is MessageType.video
    assert (
        message_of("sticker", {"id": "m4", "mime_type": "image/webp"}).type is MessageType.sticker
    )


def test_location_contacts_reaction() -> None:
    loc = message_of("location", {"latitude": 1.5, "longitude": 2.5, "name": "Loja"})
    assert loc.type is MessageType.location
    assert loc.extra["latitude"] == 1.5
    assert loc.text == "Loja"
    card = {"name": {"formatted_name": "João"}, "phones": [{"phone": "+55 11 9999"}]}
    contacts = message_of("contacts", [card])
    assert contacts.type is MessageType.contact
    assert contacts.text == "João"
    assert contacts.extra["contacts"] == [card]
    reaction = message_of("reaction", {"message_id": "wamid.OUT", "emoji": "❤️"})
    assert (reaction.type, reaction.text, reaction.reaction_to) == (
        MessageType.reaction,
        "❤️",
        "wamid.OUT",
    )


def test_button_and_interactive_replies_are_text() -> None:
    button = message_of("button", {"payload": "YES", "text": "Yes"})
    assert (button.type, button.text) == (MessageType.text, "Yes")
    listed = message_of(
        "interactive", {"type": "list_reply", "list_reply": {"id": "r1", "title": "Blue"}}
    )
    assert (listed.type, listed.text, listed.extra["reply_id"]) == (MessageType.text, "Blue", "r1")


def test_unknown_and_unsupported_types() -> None:
    errors = [{"code": 131051, "title": "Message type unknown"}]
    msg = message_of("unsupported", None, errors=errors)
    assert msg.type is MessageType.unsupported
    assert msg.provider_type == "unsupported"
    assert "131051" in msg.extra["error"]
    assert message_of("order", {"catalog_id": "1"}).type is MessageType.unsupported


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b'"text"', "must be a JSON object"),
        (b'{"object": "whatsapp_business_account"}', "body.entry is missing"),
        (b'{"entry": {}}', "body.entry must be an array"),
        (b'{"entry": [1]}', "body.entry[0] must be an object"),
    ],
)
def test_malformed_bodies_are_rejected(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_body(body)
    assert caught.value.status == 400
    assert reason in caught.value.reason


def test_missing_message_id_is_rejected() -> None:
    body = fixture_json("cloud", "inbound-text.json")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with pytest.raises(WebhookRejected, match=r"messages\[0\]\.id is missing"):
        parse_body(json.dumps(body).encode())


def test_signature_over_raw_bytes() -> None:
    inst = cloud_instance()
    body = fixture_bytes("cloud", "inbound-text.json")
    _PROVIDER.verify_webhook(inst, post(body, sign(body)))
    tampered = body.replace(b"another color", b"another colour")
    bad = [
        {},
        sign(tampered),  # signature of other bytes
        sign(body, "other-secret"),
        {"x-hub-signature-256": sign(body)["x-hub-signature-256"].replace("sha256=", "sha1=")},
        {"x-hub-signature-256": "sha256="},
    ]
    for headers in bad:
        with pytest.raises(WebhookRejected) as caught:
            _PROVIDER.verify_webhook(inst, post(body, headers))
        assert caught.value.status == 401
    # Re-serialised JSON has other bytes: the signature of the original must not match it.
    reserialised = json.dumps(json.loads(body)).encode()
    with pytest.raises(WebhookRejected):
        _PROVIDER.verify_webhook(inst, post(reserialised, sign(body)))


def handshake(**query: str) -> WebhookRequest:
    return WebhookRequest(method="GET", path="/", query=query, headers={}, body=b"")


def test_handshake() -> None:
    inst = cloud_instance()
    ok = handshake(
        **{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    )
    assert _PROVIDER.answer_handshake(inst, ok) == "42"
    for query in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {"hub.challenge": "42"},
    ):
        with pytest.raises(WebhookRejected) as caught:
            _PROVIDER.answer_handshake(inst, handshake(**query))
        assert caught.value.status == 403


def test_customer_window() -> None:
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert cloud_window_open(now - timedelta(hours=23, minutes=59), now)
    assert not cloud_window_open(now - timedelta(hours=24), now)
    assert not cloud_window_open(None, now)
    naive = datetime(2026, 3, 9, 1, 0, tzinfo=UTC).replace(tzinfo=None)
    assert cloud_window_open(naive, now)  # naive times are taken as UTC


FIXTURE_TESTS = {
    "inbound-image.json": test_inbound_image_is_a_media_id,
    "inbound-reply-with-context.json": test_inbound_reply_with_context,
    "inbound-text.json": test_inbound_text,
    "status-failed-outside-window.json": test_status_failed_outside_window_has_a_clear_reason,
    "status-read.json": test_status_read,
    "status-sent.json": test_status_sent,
}


def test_every_fixture_has_a_test() -> None:
    names = {p.name for p in fixture_dir("cloud").glob("*.json")}
    assert names == set(FIXTURE_TESTS)
    for check in FIXTURE_TESTS.values():  # order- and selection-independent
        check()
