"""The provider interface and the normalised events every adapter produces.

An adapter turns one provider's API into these shapes and back: parse a webhook request into
`ProviderEvent`s; connect, disconnect, send. Nothing outside `providers/` knows a provider's
own field names.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class InstanceStatus(StrEnum):
    disconnected = "disconnected"
    connecting = "connecting"
    qr = "qr"
    connected = "connected"
    error = "error"


class MessageType(StrEnum):
    text = "text"
    image = "image"
    audio = "audio"
    video = "video"
    document = "document"
    location = "location"
    contact = "contact"
    sticker = "sticker"
    reaction = "reaction"
    unsupported = "unsupported"


class DeliveryStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class Presence(StrEnum):
    typing = "composing"
    recording = "recording"
    paused = "paused"


@dataclass(frozen=True, slots=True)
class InboundMedia:
    mime_type: str
    # Where to fetch it: inline bytes (Evolution with base64), a URL, or a provider media id
    # (Cloud API: resolved through the Graph API with the instance's token).
    data_base64: str | None = None
    url: str | None = None
    provider_media_id: str | None = None
    filename: str | None = None
    size: int | None = None
    voice_note: bool = False


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message in a chat of the instance: from a customer, or typed on the paired phone."""

    provider_message_id: str
    chat_id: str  # the chat's WhatsApp id: the contact's, or the group's
    sender_id: str  # the author's WhatsApp id (the participant, in groups)
    phone: str | None  # the author's number in digits when known (ids may be @lid)
    sender_name: str | None
    type: MessageType
    timestamp: datetime
    text: str | None = None
    media: InboundMedia | None = None
    from_me: bool = False  # sent from the paired phone (an operator), not by a customer
    is_group: bool = False
    reply_to: str | None = None  # provider id of the quoted message
    reaction_to: str | None = None  # provider id of the message reacted to
    edit_of: str | None = None  # provider id of the message this edits
    deletes: str | None = None  # provider id of the message this deletes (revokes)
    provider_type: str = ""  # the provider's own type name (kept for `unsupported`)
    extra: Mapping[str, Any] = field(default_factory=dict)  # location, contacts (vCards) ...


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """Delivery state of a message we sent (or the phone sent)."""

    provider_message_id: str
    status: DeliveryStatus
    timestamp: datetime | None = None
    error: str | None = None
    chat_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionUpdate:
    status: InstanceStatus
    reason: str | None = None  # human-readable, e.g. "Logged out on the phone"
    phone: str | None = None  # the paired number, once connected


@dataclass(frozen=True, slots=True)
class QrUpdate:
    code: str  # the text to render as a QR code
    expires_in_seconds: int = 60


@dataclass(frozen=True, slots=True)
class OutboundEcho:
    """A message sent through the provider's API, echoed back (Evolution's `send.message`)."""

    provider_message_id: str
    chat_id: str


ProviderEvent = InboundMessage | StatusUpdate | ConnectionUpdate | QrUpdate | OutboundEcho


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """What an adapter needs to know about an instance (secrets already decrypted)."""

    id: int
    org_id: int
    name: str
    external_name: str  # the provider's name/id for it (Evolution instance, Cloud phone id)
    config: Mapping[str, str]  # base_url, api_key, access_token, app_secret, verify_token ...
    webhook_url: str
    webhook_secret: str
    agent_id: int | None = None  # the agent answering the number, if any


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True, slots=True)
class OutboundMedia:
    kind: MessageType  # image, audio, video, document
    mime_type: str
    filename: str
    data: bytes | None = None
    url: str | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str


@dataclass(frozen=True, slots=True)
class ConnectResult:
    status: InstanceStatus
    qr: QrUpdate | None = None
    phone: str | None = None


class ProviderError(Exception):
    """A provider call failed. `retryable` says whether trying again later may succeed."""

    def __init__(self, reason: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status


class WebhookRejected(Exception):
    """The request is not from the provider or is malformed: answered with `status` (4xx)."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Provider(Protocol):
    name: str

    async def connect(self, instance: InstanceRef) -> ConnectResult: ...

    async def disconnect(self, instance: InstanceRef) -> None: ...

    async def status(self, instance: InstanceRef) -> ConnectionUpdate: ...

    async def send_text(
        self, instance: InstanceRef, *, to: str, text: str, reply_to: str | None = None
    ) -> SendResult: ...

    async def send_media(
        self, instance: InstanceRef, *, to: str, media: OutboundMedia
    ) -> SendResult: ...

    async def send_presence(
        self, instance: InstanceRef, *, to: str, presence: Presence
    ) -> None: ...

    async def mark_read(
        self, instance: InstanceRef, *, chat_id: str, provider_message_ids: list[str]
    ) -> None: ...

    def answer_handshake(self, instance: InstanceRef, request: WebhookRequest) -> str:
        """A GET to the webhook URL (Cloud API's verification): the body to answer with, or
        `WebhookRejected` (403 wrong token, 405 for providers without a handshake)."""

    def verify_webhook(self, instance: InstanceRef, request: WebhookRequest) -> None:
        """Raises `WebhookRejected` unless the request comes from the provider for `instance`."""

    def parse_webhook(self, instance: InstanceRef, request: WebhookRequest) -> list[ProviderEvent]:
        """Normalised events of a verified request; `WebhookRejected` if it is malformed.
        Unknown message types become `MessageType.unsupported`, never dropped."""
