"""Evolution webhook bodies → normalised messages: every fixture, every Baileys message type."""

import copy
import json

import pytest

from atende.whatsapp.providers.base import (
    InboundMessage,
    MessageType,
    WebhookRejected,
)
from tests.whatsapp import test_evolution_events as events
from tests.whatsapp.conftest import (
    WEBHOOK_SECRET,
    evolution_instance,
    fixture_bytes,
    fixture_dir,
    fixture_json,
    post,
)
from tests.whatsapp.evolution_helpers import (
    MARIA,
    SENT_AT,
    one_message,
    parse_body,
    provider,
    upsert,
)


def test_text() -> None:
    msg = one_message("messages-upsert-text.json")
    assert msg.provider_message_id == "3EB0A1B2C3D4E5F60718"
    assert (msg.chat_id, msg.sender_id, msg.phone) == (MARIA, MARIA, "5511999998888")
    assert msg.type is MessageType.text
    assert msg.text == "Oi, tudo bem?"
    assert msg.sender_name == "Maria"
    assert msg.timestamp == SENT_AT
    assert not msg.from_me
    assert not msg.is_group
    assert msg.media is None
    assert msg.reply_to is None


def test_extended_text_legacy() -> None:
    msg = one_message("messages-upsert-extended-text-legacy.json")
    assert msg.provider_message_id == "3EB0LEGACY0000000001"
    assert msg.type is MessageType.text
    assert msg.text == "Qual o horário de funcionamento?"
    assert msg.phone == "5511999998888"


def test_from_phone_is_flagged_and_keeps_the_contact() -> None:
    msg = one_message("messages-upsert-from-phone.json")
    assert msg.from_me is True
    assert msg.provider_message_id == "3EB0FROMPHONE0000003"
    assert msg.text == "Oi Maria, aqui é a Ana da loja, vou te ajudar."
    assert msg.chat_id == MARIA
    assert msg.phone == "5511999998888"
    assert msg.sender_name is None  # pushName is the business's own name here


def test_group() -> None:
    msg = one_message("messages-upsert-group.json")
    assert msg.is_group is True
    assert msg.chat_id == "120363025246125888@g.us"
    assert msg.sender_id == "5511977776666@s.whatsapp.net"
    assert msg.phone == "5511977776666"
    assert msg.text == "Bom dia grupo"


def test_image_with_inline_base64() -> None:
    msg = one_message("messages-upsert-image.json")
    assert msg.type is MessageType.image
    assert msg.text == "Esse modelo tem em azul?"
    assert msg.media is not None
    assert msg.media.mime_type == "image/jpeg"
    assert msg.media.data_base64 is not None
    assert msg.media.data_base64.startswith("/9j/4AAQ")
    assert msg.media.size == 48213
    assert msg.provider_type == "imageMessage"


def test_voice_note() -> None:
    msg = one_message("messages-upsert-voice-note.json")
    assert msg.type is MessageType.audio
    assert msg.media is not None
    assert msg.media.voice_note is True
    assert msg.media.mime_type == "audio/ogg; codecs=opus"
    assert msg.media.url == "https://mmg.whatsapp.net/v/t62.7117-24/def.enc"
    assert msg.media.data_base64 is None
    assert msg.extra["media_encrypted"] is True


def test_lid_sender_uses_the_phone_from_remote_jid_alt() -> None:
    msg = one_message("messages-upsert-lid.json")
    assert msg.phone == "5511999998888"
    assert msg.chat_id == MARIA
    assert msg.extra["lid"] == "123456789012345@lid"
    assert msg.text == "Vocês entregam em Campinas?"


def test_lid_swapped_variant_is_the_same_contact() -> None:
    body = fixture_json("evolution", "messages-upsert-lid.json")
    key = body["data"]["key"]
    key["remoteJid"], key["remoteJidAlt"] = key["remoteJidAlt"], key["remoteJid"]
    (msg,) = parse_body(json.dumps(body).encode())
    assert isinstance(msg, InboundMessage)
    assert (msg.chat_id, msg.phone) == (MARIA, "5511999998888")
    assert msg.extra["lid"] == "123456789012345@lid"


def test_video_document_sticker() -> None:
    video = upsert({"videoMessage": {"mimetype": "video/mp4", "caption": "olha"}}, "videoMessage")
    assert (video.type, video.text) == (MessageType.video, "olha")
    doc = upsert(
        {"documentMessage": {"mimetype": "application/pdf", "fileName": "nota.pdf"}},
        "documentMessage",
    )
    assert doc.type is MessageType.document
    assert doc.media is not None
    assert doc.media.filename == "nota.pdf"
    sticker = upsert({"stickerMessage": {"url": "https://x/s.enc"}}, "stickerMessage")
    assert sticker.type is MessageType.sticker
    assert sticker.media is not None
    assert sticker.media.mime_type == "image/webp"


def test_document_with_caption_wrapper() -> None:
    inner = {
        "documentMessage": {"mimetype": "application/pdf", "fileName": "a.pdf", "caption": "c"}
    }
    msg = upsert({"documentWithCaptionMessage": {"message": inner}}, "documentWithCaptionMessage")
    assert (msg.type, msg.text) == (MessageType.document, "c")
    assert msg.provider_type == "documentWithCaptionMessage"


def test_location() -> None:
    loc = {
        "degreesLatitude": -23.55,
        "degreesLongitude": -46.63,
        "name": "Loja",
        "address": "Rua A",
    }
    msg = upsert({"locationMessage": loc}, "locationMessage")
    assert msg.type is MessageType.location
    assert msg.extra == {
        "latitude": -23.55,
        "longitude": -46.63,
        "name": "Loja",
        "address": "Rua A",
    }


def test_contacts() -> None:
    card = {"displayName": "João", "vcard": "BEGIN:VCARD\nFN:João\nEND:VCARD"}
    one = upsert({"contactMessage": card}, "contactMessage")
    assert (one.type, one.text) == (MessageType.contact, "João")
    assert one.extra["vcards"] == [card["vcard"]]
    many = upsert(
        {"contactsArrayMessage": {"contacts": [card, {**card, "displayName": "Ana"}]}},
        "contactsArrayMessage",
    )
    assert many.text == "João, Ana"
    assert len(many.extra["vcards"]) == 2


def test_reaction() -> None:
    msg = upsert(
        {"reactionMessage": {"key": {"id": "3EB0TARGET", "remoteJid": MARIA}, "text": "👍"}},
        "reactionMessage",
    )
    assert (msg.type, msg.text, msg.reaction_to) == (MessageType.reaction, "👍", "3EB0TARGET")


def test_revoke_deletes() -> None:
    msg = upsert(
        {"protocolMessage": {"key": {"id": "3EB0GONE"}, "type": "REVOKE"}}, "protocolMessage"
    )
    assert msg.deletes == "3EB0GONE"


def test_edits_in_both_forms() -> None:
    edit = {
        "key": {"id": "3EB0OLD"},
        "type": "MESSAGE_EDIT",
        "editedMessage": {"conversation": "novo"},
    }
    direct = upsert({"protocolMessage": edit}, "protocolMessage")
    assert (direct.edit_of, direct.text, direct.type) == ("3EB0OLD", "novo", MessageType.text)
    wrapped = upsert({"editedMessage": {"message": {"protocolMessage": edit}}}, "editedMessage")
    assert (wrapped.edit_of, wrapped.text) == ("3EB0OLD", "novo")


def test_reply_to_from_context_info() -> None:
    ext = {"text": "sim", "contextInfo": {"stanzaId": "3EB0QUOTED", "participant": MARIA}}
    msg = upsert({"extendedTextMessage": ext}, "extendedTextMessage")
    assert msg.reply_to == "3EB0QUOTED"
    data_level = upsert({"conversation": "sim"}, "conversation", contextInfo={"stanzaId": "3EB0Q2"})
    assert data_level.reply_to == "3EB0Q2"


def test_unknown_type_is_unsupported_not_dropped() -> None:
    msg = upsert({"pollCreationMessageV3": {"name": "?"}}, "pollCreationMessageV3")
    assert msg.type is MessageType.unsupported
    assert msg.provider_type == "pollCreationMessageV3"
    assert msg.provider_message_id == "3EB0A1B2C3D4E5F60718"


def test_group_key_distribution_is_not_the_content() -> None:
    body = fixture_json("evolution", "messages-upsert-group.json")
    del body["data"]["messageType"]
    body["data"]["message"] = {
        "senderKeyDistributionMessage": {"groupId": "120363025246125888@g.us"},
        "conversation": "Bom dia grupo",
    }
    (msg,) = parse_body(json.dumps(body).encode())
    assert isinstance(msg, InboundMessage)
    assert msg.text == "Bom dia grupo"


def test_status_stories_and_signalling_are_not_chat_messages() -> None:
    body = fixture_json("evolution", "messages-upsert-text.json")
    body["data"]["key"]["remoteJid"] = "status@broadcast"
    assert parse_body(json.dumps(body).encode()) == []
    body = fixture_json("evolution", "messages-upsert-text.json")
    body["data"]["message"] = {"protocolMessage": {"type": "HISTORY_SYNC_NOTIFICATION"}}
    body["data"]["messageType"] = "protocolMessage"
    assert parse_body(json.dumps(body).encode()) == []


def test_uppercase_and_url_event_names() -> None:
    for name in ("MESSAGES_UPSERT", "messages-upsert"):
        body = fixture_json("evolution", "messages-upsert-text.json")
        body["event"] = name
        (msg,) = parse_body(json.dumps(body).encode())
        assert isinstance(msg, InboundMessage)
        assert msg.text == "Oi, tudo bem?"


def test_unknown_events_are_ignored() -> None:
    body = {"event": "presence.update", "instance": "agent-01", "data": {"id": "x"}}
    assert parse_body(json.dumps(body).encode()) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"data": {}}', "body.event is missing"),
        (b'{"event": "messages.upsert"}', "body.data is missing"),
        (b'{"event": 7, "data": {}}', "body.event must be a non-empty string"),
        (b'{"event": "messages.upsert", "data": "x"}', "body.data must be an object"),
        (b'{"event": "messages.upsert", "data": {"key": {}}}', "body.data.key.id is missing"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_body(body)
    assert caught.value.status == 400
    assert reason in caught.value.reason


def test_wrong_timestamp_type_is_rejected() -> None:
    body = copy.deepcopy(fixture_json("evolution", "messages-upsert-text.json"))
    body["data"]["messageTimestamp"] = [1]
    with pytest.raises(WebhookRejected, match="messageTimestamp"):
        parse_body(json.dumps(body).encode())


def test_secret_header_is_required() -> None:
    p, inst = provider(), evolution_instance()
    body = fixture_bytes("evolution", "messages-upsert-text.json")
    p.verify_webhook(inst, post(body, {"x-atende-secret": WEBHOOK_SECRET}))
    for headers in ({}, {"x-atende-secret": "wrong"}, {"x-atende-secret": ""}):
        with pytest.raises(WebhookRejected) as caught:
            p.verify_webhook(inst, post(body, headers))
        assert caught.value.status == 401
    with pytest.raises(WebhookRejected) as caught:
        p.answer_handshake(inst, post(b""))
    assert caught.value.status == 405


FIXTURE_TESTS = {
    "connection-update-close-logged-out.json": events.test_connection_closed_logged_out,
    "connection-update-connecting.json": events.test_connection_connecting,
    "connection-update-open.json": events.test_connection_open_with_phone,
    "connection-update-refused-qr-limit.json": events.test_connection_refused_qr_limit,
    "messages-update-read.json": events.test_status_read,
    "messages-upsert-extended-text-legacy.json": test_extended_text_legacy,
    "messages-upsert-from-phone.json": test_from_phone_is_flagged_and_keeps_the_contact,
    "messages-upsert-group.json": test_group,
    "messages-upsert-image.json": test_image_with_inline_base64,
    "messages-upsert-lid.json": test_lid_sender_uses_the_phone_from_remote_jid_alt,
    "messages-upsert-text.json": test_text,
    "messages-upsert-voice-note.json": test_voice_note,
    "qrcode-limit-reached.json": events.test_qrcode_limit_reached_is_an_error,
    "qrcode-updated.json": events.test_qrcode_updated,
    "send-message.json": events.test_send_message_echo,
}


def test_every_fixture_has_a_test() -> None:
    names = {p.name for p in fixture_dir("evolution").glob("*.json")}
    assert names == set(FIXTURE_TESTS)
    for check in FIXTURE_TESTS.values():  # order- and selection-independent
        check()
