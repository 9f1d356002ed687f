"""Evolution webhook bodies → statuses, connection changes, QR codes and echoes."""

import json
from datetime import UTC, datetime

import pytest

from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    DeliveryStatus,
    InstanceStatus,
    OutboundEcho,
    QrUpdate,
    StatusUpdate,
)
from tests.whatsapp.conftest import (
    fixture_json,
)
from tests.whatsapp.evolution_helpers import MARIA, parse_body, parse_fixture


def test_status_read() -> None:
    events = parse_fixture("messages-update-read.json")
    assert events == [
        StatusUpdate(
            provider_message_id="3EB0SENTBYAPI0000004",
            status=DeliveryStatus.read,
            timestamp=datetime(2026, 3, 9, 0, 35, 45, 123000, tzinfo=UTC),
            chat_id=MARIA,
        )
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PENDING", DeliveryStatus.queued),
        ("SERVER_ACK", DeliveryStatus.sent),
        ("DELIVERY_ACK", DeliveryStatus.delivered),
        ("READ", DeliveryStatus.read),
        ("PLAYED", DeliveryStatus.read),
        ("ERROR", DeliveryStatus.failed),
        (3, DeliveryStatus.delivered),  # Baileys' numeric form
    ],
)
def test_every_delivery_state(raw: object, expected: DeliveryStatus) -> None:
    body = fixture_json("evolution", "messages-update-read.json")
    body["data"]["status"] = raw
    (update,) = parse_body(json.dumps(body).encode())
    assert isinstance(update, StatusUpdate)
    assert update.status is expected
    assert (update.error is not None) == (expected is DeliveryStatus.failed)


def test_status_falls_back_to_key_id() -> None:
    body = fixture_json("evolution", "messages-update-read.json")
    del body["data"]["keyId"]
    body["data"]["key"] = {"id": "3EB0KEYID", "remoteJid": MARIA}
    (update,) = parse_body(json.dumps(body).encode())
    assert isinstance(update, StatusUpdate)
    assert update.provider_message_id == "3EB0KEYID"


def test_send_message_echo() -> None:
    events = parse_fixture("send-message.json")
    assert events == [OutboundEcho(provider_message_id="3EB0SENTBYAPI0000004", chat_id=MARIA)]


def test_connection_open_with_phone() -> None:
    events = parse_fixture("connection-update-open.json")
    assert events == [ConnectionUpdate(InstanceStatus.connected, phone="5511888887777")]


def test_connection_connecting() -> None:
    assert parse_fixture("connection-update-connecting.json") == [
        ConnectionUpdate(InstanceStatus.connecting)
    ]


def test_connection_closed_logged_out() -> None:
    assert parse_fixture("connection-update-close-logged-out.json") == [
        ConnectionUpdate(InstanceStatus.disconnected, reason="Logged out on the phone — scan again")
    ]


def test_connection_refused_qr_limit() -> None:
    (update,) = parse_fixture("connection-update-refused-qr-limit.json")
    assert isinstance(update, ConnectionUpdate)
    assert update.status is InstanceStatus.error
    assert update.reason is not None
    assert "QR code" in update.reason


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (403, "banned"),
        (408, "timed out"),
        (440, "replaced"),
        (500, "Bad session"),
        (515, "Restart"),
    ],
)
def test_disconnect_reasons(code: int, words: str) -> None:
    body = fixture_json("evolution", "connection-update-close-logged-out.json")
    body["data"]["statusReason"] = code
    (update,) = parse_body(json.dumps(body).encode())
    assert isinstance(update, ConnectionUpdate)
    assert update.reason is not None
    assert words in update.reason


def test_qrcode_updated() -> None:
    assert parse_fixture("qrcode-updated.json") == [
        QrUpdate("2@Xy1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789,abc=,def=,ghi=")
    ]


def test_qrcode_limit_reached_is_an_error() -> None:
    assert parse_fixture("qrcode-limit-reached.json") == [
        ConnectionUpdate(InstanceStatus.error, reason="QR code limit reached, please login again")
    ]


# -- message types beyond the fixtures ----------------------------------------------------------
