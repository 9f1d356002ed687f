"""Evolution API v2 adapter (`apikey` header; Baileys underneath).

Evolution does not sign webhooks: the webhook is registered with a per-instance secret in the
`X-Atende-Secret` header, checked in constant time.
"""

import base64
import binascii
import hmac
from typing import Any

import httpx

from atende.whatsapp.providers import evolution_parse
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
    QrUpdate,
    SendResult,
    WebhookRejected,
    WebhookRequest,
)
from atende.whatsapp.providers.download import DownloadedMedia, fetch_limited, too_large
from atende.whatsapp.providers.wire import digits, json_or_none, send, snippet

SECRET_HEADER = "X-Atende-Secret"  # noqa: S105 (a header name)
WEBHOOK_EVENTS = [
    "CONNECTION_UPDATE",
    "QRCODE_UPDATED",
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "SEND_MESSAGE",
]
_MEDIA_KINDS = {MessageType.image, MessageType.audio, MessageType.video, MessageType.document}


def evolution_number(to: str) -> str:
    """Evolution's `number`: digits for people; group and lid JIDs are kept whole."""
    if to.endswith(("@g.us", "@lid")):
        return to
    number = digits(to.split("@", 1)[0].split(":", 1)[0])
    if not number:
        raise ProviderError(f"invalid recipient {to!r}", retryable=False)
    return number


def _chat_jid(chat_id: str) -> str:
    return chat_id if "@" in chat_id else f"{evolution_number(chat_id)}@s.whatsapp.net"


def error_reason(response: httpx.Response) -> str:
    """Evolution answers `{status, error, response: {message: [...] | str}}`."""
    body = json_or_none(response)
    if isinstance(body, dict):
        inner = body.get("response")
        message = inner.get("message") if isinstance(inner, dict) else body.get("message")
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
        if isinstance(message, str) and message:
            return message
        if isinstance(body.get("error"), str):
            return str(body["error"])
    return snippet(response)


class EvolutionProvider:
    name = "evolution"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        presence_ms: int = 3000,
    ) -> None:
        self._client = client
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._presence_ms = presence_ms
        # sendPresence answers only after the presence `delay` has elapsed.
        wait = timeout + presence_ms / 1000
        self._presence_timeout = httpx.Timeout(wait, connect=connect_timeout)

    # -- HTTP ---------------------------------------------------------------------------------

    async def _call(
        self,
        instance: InstanceRef,
        method: str,
        path: str,
        *,
        json: Any = None,
        request_timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        base_url = instance.config.get("base_url", "").rstrip("/")
        if not base_url:
            raise ProviderError("Evolution base_url is not configured", retryable=False)
        response = await send(
            self._client,
            method,
            base_url + path,
            request_timeout=request_timeout or self._timeout,
            what=f"Evolution {method} {path}",
            headers={"apikey": instance.config.get("api_key", "")},
            json=json,
        )
        if response.status_code >= 400:
            reason = f"Evolution {response.status_code}: {error_reason(response)}"
            retryable = response.status_code >= 500 or response.status_code == 429
            raise ProviderError(reason, retryable=retryable, status=response.status_code)
        return response

    async def _json(self, instance: InstanceRef, method: str, path: str, **kw: Any) -> Any:
        response = await self._call(instance, method, path, **kw)
        return json_or_none(response)

    # -- lifecycle ----------------------------------------------------------------------------

    async def connect(self, instance: InstanceRef) -> ConnectResult:
        name = instance.external_name
        try:
            await self._call(
                instance,
                "POST",
                "/instance/create",
                json={"instanceName": name, "integration": "WHATSAPP-BAILEYS", "qrcode": False},
            )
        except ProviderError as exc:
            # An existing instance is attached to, not recreated.
            exists = "already" in exc.reason.lower() and "use" in exc.reason.lower()
            if not (exc.status == 409 or (exc.status == 403 and exists)):
                raise
        await self._call(
            instance,
            "POST",
            f"/webhook/set/{name}",
            json={
                "webhook": {
                    "enabled": True,
                    "url": instance.webhook_url,
                    "headers": {SECRET_HEADER: instance.webhook_secret},
                    "byEvents": False,
                    "base64": True,
                    "events": WEBHOOK_EVENTS,
                }
            },
        )
        body = await self._json(instance, "GET", f"/instance/connect/{name}")
        body = body if isinstance(body, dict) else {}
        code = body.get("code")
        if isinstance(code, str) and code:
            return ConnectResult(InstanceStatus.qr, qr=QrUpdate(code))
        state = (
            body.get("instance", {}).get("state")
            if isinstance(body.get("instance"), dict)
            else None
        )
        if state == "open":
            return ConnectResult(InstanceStatus.connected)
        return ConnectResult(InstanceStatus.connecting)

    async def disconnect(self, instance: InstanceRef) -> None:
        try:
            await self._call(instance, "DELETE", f"/instance/logout/{instance.external_name}")
        except ProviderError as exc:
            # Logging out an instance that is not connected (or gone) leaves it disconnected.
            if exc.status not in (400, 404):
                raise

    async def status(self, instance: InstanceRef) -> ConnectionUpdate:
        path = f"/instance/connectionState/{instance.external_name}"
        try:
            body = await self._json(instance, "GET", path)
        except ProviderError as exc:
            if exc.retryable:
                raise
            if exc.status == 404:
                reason = f"Instance {instance.external_name!r} does not exist on the server"
                return ConnectionUpdate(InstanceStatus.disconnected, reason=reason)
            return ConnectionUpdate(InstanceStatus.error, reason=exc.reason)
        inner = body.get("instance") if isinstance(body, dict) else None
        state = inner.get("state") if isinstance(inner, dict) else None
        status = evolution_parse.connection_status(state) if isinstance(state, str) else None
        if status is None:
            return ConnectionUpdate(InstanceStatus.error, reason=f"unexpected state {state!r}")
        return ConnectionUpdate(status)

    # -- sending ------------------------------------------------------------------------------

    def _sent(self, body: object) -> SendResult:
        key = body.get("key") if isinstance(body, dict) else None
        message_id = key.get("id") if isinstance(key, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # Not retryable: the message may have gone out; a retry could send it twice.
            raise ProviderError("Evolution answered without a message id", retryable=False)
        return SendResult(message_id)

    async def send_text(
        self, instance: InstanceRef, *, to: str, text: str, reply_to: str | None = None
    ) -> SendResult:
        payload: dict[str, Any] = {"number": evolution_number(to), "text": text}
        if reply_to:
            # Evolution looks the quoted message up by its key when `message` is absent.
            payload["quoted"] = {"key": {"id": reply_to}}
        path = f"/message/sendText/{instance.external_name}"
        return self._sent(await self._json(instance, "POST", path, json=payload))

    async def send_media(
        self, instance: InstanceRef, *, to: str, media: OutboundMedia
    ) -> SendResult:
        if media.kind not in _MEDIA_KINDS:
            raise ProviderError(f"cannot send {media.kind} as media", retryable=False)
        if media.data is not None:
            content = base64.b64encode(media.data).decode("ascii")
        elif media.url:
            content = media.url
        else:
            raise ProviderError("media has neither data nor url", retryable=False)
        payload: dict[str, Any] = {
            "number": evolution_number(to),
            "mediatype": media.kind.value,
            "mimetype": media.mime_type,
            "media": content,
            "fileName": media.filename,
        }
        if media.caption:
            payload["caption"] = media.caption
        path = f"/message/sendMedia/{instance.external_name}"
        return self._sent(await self._json(instance, "POST", path, json=payload))

    async def send_presence(self, instance: InstanceRef, *, to: str, presence: Presence) -> None:
        payload = {
            "number": evolution_number(to),
            "presence": presence.value,
            "delay": 0 if presence is Presence.paused else self._presence_ms,
        }
        path = f"/chat/sendPresence/{instance.external_name}"
        await self._call(
            instance, "POST", path, json=payload, request_timeout=self._presence_timeout
        )

    async def mark_read(
        self, instance: InstanceRef, *, chat_id: str, provider_message_ids: list[str]
    ) -> None:
        if not provider_message_ids:
            return
        jid = _chat_jid(chat_id)
        payload = {
            "readMessages": [
                {"remoteJid": jid, "fromMe": False, "id": mid} for mid in provider_message_ids
            ]
        }
        path = f"/chat/markMessageAsRead/{instance.external_name}"
        await self._call(instance, "POST", path, json=payload)

    # -- inbound media ------------------------------------------------------------------------

    async def download_media(
        self, instance: InstanceRef, *, message_id: str, max_bytes: int
    ) -> DownloadedMedia:
        """`POST /chat/getBase64FromMediaMessage/{instance}`: Evolution decrypts the media of
        message `message_id` and answers `{base64, mimetype, fileName, ...}`; the answer is
        streamed and cut off past what `max_bytes` of base64 can take."""
        base_url = instance.config.get("base_url", "").rstrip("/")
        if not base_url:
            raise ProviderError("Evolution base_url is not configured", retryable=False)
        what = "Evolution getBase64FromMediaMessage"
        answer = await fetch_limited(
            self._client,
            "POST",
            f"{base_url}/chat/getBase64FromMediaMessage/{instance.external_name}",
            max_bytes=max_bytes * 4 // 3 + 64 * 1024,  # base64 plus the JSON around it
            request_timeout=self._timeout,
            what=what,
            headers={"apikey": instance.config.get("api_key", "")},
            json={"message": {"key": {"id": message_id}}, "convertToMp4": False},
        )
        if answer.status_code >= 400:
            response = answer.response()
            retryable = answer.status_code >= 500 or answer.status_code == 429
            raise ProviderError(
                f"Evolution {answer.status_code}: {error_reason(response)}",
                retryable=retryable,
                status=answer.status_code,
            )
        body = json_or_none(answer.response())
        encoded = body.get("base64") if isinstance(body, dict) else None
        if not isinstance(encoded, str) or not encoded:
            raise ProviderError(f"{what} answered without base64", retryable=False)
        try:
            data = base64.b64decode(encoded.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            raise ProviderError(f"{what} answered invalid base64", retryable=False) from None
        if len(data) > max_bytes:
            raise too_large(what, max_bytes)
        assert isinstance(body, dict)
        mime, name = body.get("mimetype"), body.get("fileName")
        return DownloadedMedia(
            data,
            mime if isinstance(mime, str) and mime else None,
            name if isinstance(name, str) and name else None,
        )

    # -- webhooks -----------------------------------------------------------------------------

    def answer_handshake(self, instance: InstanceRef, request: WebhookRequest) -> str:
        raise WebhookRejected("Evolution webhooks have no GET handshake", status=405)

    def verify_webhook(self, instance: InstanceRef, request: WebhookRequest) -> None:
        given = request.headers.get(SECRET_HEADER.lower(), "").encode("utf-8", "surrogatepass")
        expected = instance.webhook_secret.encode("utf-8", "surrogatepass")
        if not expected or not hmac.compare_digest(given, expected):
            raise WebhookRejected(f"missing or wrong {SECRET_HEADER} header", status=401)

    def parse_webhook(self, instance: InstanceRef, request: WebhookRequest) -> list[ProviderEvent]:
        return evolution_parse.parse(request.body)
