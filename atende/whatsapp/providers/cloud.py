"""Meta WhatsApp Cloud API adapter (Graph API, `Authorization: Bearer`).

Webhooks are signed: `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body with the app
secret. Outside the 24-hour customer-service window only templates may be sent
(`cloud_window_open`).

Presence: the Cloud API has no free-standing presence. Its typing indicator is tied to marking
one inbound message read (`send_typing`), and the `Provider.send_presence` signature carries no
message id, so `send_presence` is a documented no-op here.
"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from atende.whatsapp.providers import cloud_parse
from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    ConnectResult,
    InstanceRef,
    InstanceStatus,
    MessageType,
    OutboundMedia,
    Presence,
    ProviderError,
    ProviderEvent,
    SendResult,
    WebhookRejected,
    WebhookRequest,
)
from atende.whatsapp.providers.download import DownloadedMedia, fetch_limited, too_large
from atende.whatsapp.providers.wire import digits, json_or_none, send, snippet

CUSTOMER_WINDOW = timedelta(hours=24)
# Graph error codes worth retrying: throttling, spam rate limits, temporary outages.
RETRYABLE_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131056, 133004}
_MEDIA_KINDS = {MessageType.image, MessageType.audio, MessageType.video, MessageType.document}


def cloud_window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether free-form messages may be sent: the customer wrote within the last 24 hours."""
    if last_inbound_at is None:
        return False
    # Naive times are taken as UTC, so a stored naive timestamp cannot raise on comparison.
    if last_inbound_at.tzinfo is None:
        last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - last_inbound_at < CUSTOMER_WINDOW


def graph_error(response: httpx.Response) -> ProviderError:
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    reason = cloud_parse.error_text(error) if isinstance(error, dict) else snippet(response)
    retryable = (
        response.status_code >= 500 or response.status_code == 429 or code in RETRYABLE_CODES
    )
    return ProviderError(
        f"Graph API {response.status_code}: {reason}",
        retryable=retryable,
        status=response.status_code,
    )


class CloudProvider:
    name = "cloud"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        graph_base_url: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        upload_timeout: float = 60.0,
    ) -> None:
        self._client = client
        self._base = f"{graph_base_url.rstrip('/')}/{api_version}"
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._upload_timeout = httpx.Timeout(upload_timeout, connect=connect_timeout)

    # -- HTTP ---------------------------------------------------------------------------------

    async def _call(
        self,
        instance: InstanceRef,
        method: str,
        path: str,
        *,
        request_timeout: httpx.Timeout | None = None,
        **kwargs: Any,
    ) -> Any:
        token = instance.config.get("access_token", "")
        if not token:
            raise ProviderError("Cloud API access_token is not configured", retryable=False)
        response = await send(
            self._client,
            method,
            f"{self._base}/{instance.external_name}{path}",
            request_timeout=request_timeout or self._timeout,
            what=f"Graph API {method} {path or '/'}",
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
        if response.status_code >= 400:
            raise graph_error(response)
        return json_or_none(response)

    # -- lifecycle ----------------------------------------------------------------------------

    async def _phone(self, instance: InstanceRef) -> str | None:
        body = await self._call(
            instance, "GET", "", params={"fields": "display_phone_number,verified_name"}
        )
        shown = body.get("display_phone_number") if isinstance(body, dict) else None
        return (digits(shown) or None) if isinstance(shown, str) else None

    async def connect(self, instance: InstanceRef) -> ConnectResult:
        """No QR: checks the token and phone number id; a bad one raises `ProviderError`."""
        return ConnectResult(InstanceStatus.connected, phone=await self._phone(instance))

    async def disconnect(self, instance: InstanceRef) -> None:
        return  # the number stays registered with Meta; Atende just stops using it

    async def status(self, instance: InstanceRef) -> ConnectionUpdate:
        try:
            phone = await self._phone(instance)
        except ProviderError as exc:
            if exc.retryable:
                raise
            return ConnectionUpdate(InstanceStatus.error, reason=exc.reason)
        return ConnectionUpdate(InstanceStatus.connected, phone=phone)

    # -- sending ------------------------------------------------------------------------------

    async def _send_message(self, instance: InstanceRef, payload: dict[str, Any]) -> SendResult:
        body = await self._call(instance, "POST", "/messages", json=payload)
        messages = body.get("messages") if isinstance(body, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # Not retryable: the message may have gone out; a retry could send it twice.
            raise ProviderError("Graph API answered without a message id", retryable=False)
        return SendResult(message_id)

    @staticmethod
    def _recipient(to: str) -> str:
        number = digits(to.split("@", 1)[0])
        if not number:
            raise ProviderError(f"invalid recipient {to!r}", retryable=False)
        return number

    async def send_text(
        self, instance: InstanceRef, *, to: str, text: str, reply_to: str | None = None
    ) -> SendResult:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self._recipient(to),
            "type": "text",
            "text": {"body": text, "preview_url": False},
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        return await self._send_message(instance, payload)

    async def upload_media(self, instance: InstanceRef, media: OutboundMedia) -> str:
        """`POST /{phone_id}/media` (multipart); the media id to send with."""
        if media.data is None:
            raise ProviderError("no bytes to upload", retryable=False)
        body = await self._call(
            instance,
            "POST",
            "/media",
            data={"messaging_product": "whatsapp", "type": media.mime_type},
            files={"file": (media.filename, media.data, media.mime_type)},
            request_timeout=self._upload_timeout,
        )
        media_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(media_id, str) or not media_id:
            raise ProviderError("Graph API media upload answered without an id", retryable=True)
        return media_id

    async def send_media(
        self, instance: InstanceRef, *, to: str, media: OutboundMedia
    ) -> SendResult:
        if media.kind not in _MEDIA_KINDS:
            raise ProviderError(f"cannot send {media.kind} as media", retryable=False)
        recipient = self._recipient(to)
        target: dict[str, Any]
        if media.data is not None:
            target = {"id": await self.upload_media(instance, media)}
        elif media.url:
            target = {"link": media.url}
        else:
            raise ProviderError("media has neither data nor url", retryable=False)
        if media.caption and media.kind is not MessageType.audio:  # audio takes no caption
            target["caption"] = media.caption
        if media.kind is MessageType.document and media.filename:
            target["filename"] = media.filename
        kind = media.kind.value
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": recipient,
            "type": kind,
            kind: target,
        }
        return await self._send_message(instance, payload)

    async def send_presence(self, instance: InstanceRef, *, to: str, presence: Presence) -> None:
        # No-op by design (see the module docstring); `send_typing` is the Cloud API's form.
        return

    async def send_typing(self, instance: InstanceRef, *, message_id: str) -> None:
        """Marks inbound `message_id` read and shows "typing…" (up to 25 s or the next reply)."""
        payload = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
            "typing_indicator": {"type": "text"},
        }
        await self._call(instance, "POST", "/messages", json=payload)

    async def mark_read(
        self, instance: InstanceRef, *, chat_id: str, provider_message_ids: list[str]
    ) -> None:
        if not provider_message_ids:
            return
        # Marking a message read marks every earlier one in the chat read too.
        payload = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": provider_message_ids[-1],
        }
        await self._call(instance, "POST", "/messages", json=payload)

    # -- inbound media ------------------------------------------------------------------------

    async def download_media(
        self, instance: InstanceRef, *, media_id: str, max_bytes: int
    ) -> DownloadedMedia:
        """`GET /{version}/{media_id}` gives a short-lived URL (about 5 minutes); that URL is
        downloaded with the same Bearer token, streamed and cut off past `max_bytes`."""
        token = instance.config.get("access_token", "")
        if not token:
            raise ProviderError("Cloud API access_token is not configured", retryable=False)
        if not media_id.isascii() or not media_id.replace("_", "").isalnum():
            raise ProviderError(f"invalid media id {media_id!r}", retryable=False)
        headers = {"Authorization": f"Bearer {token}"}
        response = await send(
            self._client,
            "GET",
            f"{self._base}/{media_id}",
            request_timeout=self._timeout,
            what="Graph API GET media",
            headers=headers,
            params={"phone_number_id": instance.external_name},
        )
        if response.status_code >= 400:
            raise graph_error(response)
        body = json_or_none(response)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderError("Graph API media answer has no download url", retryable=True)
        declared = body.get("file_size") if isinstance(body, dict) else None
        size = str(declared) if isinstance(declared, int | str) else ""
        if size.isdigit() and int(size) > max_bytes:
            raise too_large("Graph API media", max_bytes)
        downloaded = await fetch_limited(
            self._client,
            "GET",
            url,
            max_bytes=max_bytes,
            request_timeout=self._upload_timeout,
            what="Graph API media download",
            headers=headers,
        )
        if downloaded.status_code >= 400:
            error = graph_error(downloaded.response())
            # The URL expires within minutes: asking again for a fresh one may well work.
            error.retryable = error.retryable or downloaded.status_code in (401, 403, 404)
            raise error
        mime = body.get("mime_type") if isinstance(body, dict) else None
        return DownloadedMedia(downloaded.body, mime if isinstance(mime, str) else None)

    # -- webhooks -----------------------------------------------------------------------------

    def answer_handshake(self, instance: InstanceRef, request: WebhookRequest) -> str:
        given = request.query.get("hub.verify_token", "").encode("utf-8", "surrogatepass")
        expected = instance.config.get("verify_token", "").encode("utf-8", "surrogatepass")
        token_ok = bool(expected) and hmac.compare_digest(given, expected)
        if request.query.get("hub.mode") != "subscribe" or not token_ok:
            raise WebhookRejected("wrong hub.mode or hub.verify_token", status=403)
        challenge = request.query.get("hub.challenge")
        if not challenge:
            raise WebhookRejected("hub.challenge is missing", status=400)
        return challenge

    def verify_webhook(self, instance: InstanceRef, request: WebhookRequest) -> None:
        secret = instance.config.get("app_secret", "").encode()
        if not secret:
            raise WebhookRejected("the instance has no app secret to check signatures", status=401)
        header = request.headers.get("x-hub-signature-256", "")
        scheme, _, given = header.partition("=")
        expected = hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        given_bytes = given.strip().lower().encode("utf-8", "surrogatepass")
        if scheme != "sha256" or not hmac.compare_digest(given_bytes, expected.encode()):
            raise WebhookRejected("missing or wrong X-Hub-Signature-256", status=401)

    def parse_webhook(self, instance: InstanceRef, request: WebhookRequest) -> list[ProviderEvent]:
        return cloud_parse.parse(request.body, instance.external_name)
