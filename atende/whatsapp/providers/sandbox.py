"""The built-in sandbox provider: a simulated phone, for demos, tests and trying agents.

Pairing goes through the same states as a real number (a QR code, "scanned" on the simulator
page). Customers are simulated through the API (`POST /api/v1/sandbox/{id}/messages`), which
feeds the same intake as real webhooks; what Atende sends is read back from the messages.
"""

import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime

from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    ConnectResult,
    DeliveryStatus,
    InboundMedia,
    InboundMessage,
    InstanceRef,
    InstanceStatus,
    MessageType,
    OutboundMedia,
    Presence,
    ProviderEvent,
    QrUpdate,
    SendResult,
    StatusUpdate,
    WebhookRejected,
    WebhookRequest,
)

QR_SECONDS = 60
SECRET_HEADER = "x-atende-secret"  # noqa: S105 (a header name, not a secret)
# The number the simulated phone pairs as (+55 00 ...: not a real Brazilian area code).
SANDBOX_PHONE_PREFIX = "+550099"


def sandbox_phone(instance_id: int) -> str:
    return f"{SANDBOX_PHONE_PREFIX}{instance_id:07d}"[:16]


def customer_wa_id(number: str) -> str:
    return number.lstrip("+") + "@s.whatsapp.net"


class SandboxProvider:
    name = "sandbox"

    async def connect(self, instance: InstanceRef) -> ConnectResult:
        code = f"atende-sandbox:{instance.id}:{secrets.token_urlsafe(12)}"
        return ConnectResult(InstanceStatus.qr, qr=QrUpdate(code, QR_SECONDS))

    async def disconnect(self, instance: InstanceRef) -> None:
        return None

    async def status(self, instance: InstanceRef) -> ConnectionUpdate:
        # The simulated phone has no state of its own: the database's status is the truth.
        raise NotImplementedError("the sandbox keeps its state in the database")

    async def send_text(
        self, instance: InstanceRef, *, to: str, text: str, reply_to: str | None = None
    ) -> SendResult:
        return SendResult(f"sbx-{uuid.uuid4().hex}")

    async def send_media(
        self, instance: InstanceRef, *, to: str, media: OutboundMedia
    ) -> SendResult:
        return SendResult(f"sbx-{uuid.uuid4().hex}")

    async def send_presence(self, instance: InstanceRef, *, to: str, presence: Presence) -> None:
        return None

    async def mark_read(
        self, instance: InstanceRef, *, chat_id: str, provider_message_ids: list[str]
    ) -> None:
        return None

    def answer_handshake(self, instance: InstanceRef, request: WebhookRequest) -> str:
        raise WebhookRejected("The sandbox has no verification handshake.", status=405)

    def verify_webhook(self, instance: InstanceRef, request: WebhookRequest) -> None:
        sent = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode(), instance.webhook_secret.encode()):
            raise WebhookRejected("Missing or wrong X-Atende-Secret header.", status=401)

    def parse_webhook(self, instance: InstanceRef, request: WebhookRequest) -> list[ProviderEvent]:
        """Body: `{"from", "name", "text", "id"?}` (a customer message) or
        `{"read": [provider ids]}` (the simulated phone read what we sent)."""
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRejected("The body is not JSON.") from exc
        if not isinstance(body, dict):
            raise WebhookRejected("The body must be a JSON object.")
        if isinstance(body.get("read"), list):
            ids = [i for i in body["read"] if isinstance(i, str) and i]
            return [StatusUpdate(i, DeliveryStatus.read, datetime.now(UTC)) for i in ids]
        number, text = body.get("from"), body.get("text")
        if not isinstance(number, str) or not isinstance(text, str) or not text:
            raise WebhookRejected("A customer message needs `from` and `text`.")
        name = body.get("name") if isinstance(body.get("name"), str) else None
        message_id = body.get("id") if isinstance(body.get("id"), str) else None
        return [customer_message(number, text, name=name, provider_message_id=message_id)]


def media_type(mime_type: str) -> MessageType:
    kind = mime_type.split("/", 1)[0]
    return {
        "image": MessageType.image,
        "audio": MessageType.audio,
        "video": MessageType.video,
    }.get(kind, MessageType.document)


def customer_message(
    number: str,
    text: str,
    *,
    name: str | None = None,
    provider_message_id: str | None = None,
    media: InboundMedia | None = None,
) -> InboundMessage:
    wa_id = customer_wa_id(number)
    return InboundMessage(
        provider_message_id=provider_message_id or f"sbx-in-{uuid.uuid4().hex}",
        chat_id=wa_id,
        sender_id=wa_id,
        phone=number.lstrip("+"),
        sender_name=name or None,
        type=media_type(media.mime_type) if media else MessageType.text,
        timestamp=datetime.now(UTC),
        text=text or None,
        media=media,
    )
