"""Evolution API v2 webhook bodies → normalised events.

The envelope is `{event, instance, data, sender, date_time, ...}`; `data` of `messages.upsert`
is a Baileys `WebMessageInfo` (`key`, `message`, `messageType`, `pushName`, `messageTimestamp`).

For messages typed on the paired phone (`key.fromMe`), `chat_id`/`sender_id`/`phone` still name
the chat's contact (that is what the intake files the message under) and `sender_name` is None,
because `pushName` is then the business's own profile name, not the contact's.
"""

from datetime import UTC, datetime
from typing import Any

from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    DeliveryStatus,
    InboundMedia,
    InboundMessage,
    InstanceStatus,
    MessageType,
    OutboundEcho,
    ProviderEvent,
    QrUpdate,
    StatusUpdate,
    WebhookRejected,
)
from atende.whatsapp.providers.wire import (
    JsonObject,
    digits,
    iso_datetime,
    load_object,
    opt_bool,
    opt_list,
    opt_number,
    opt_obj,
    opt_str,
    req_obj,
    req_str,
    type_name,
    unix_seconds,
)

# Baileys DisconnectReason codes, as Evolution forwards them in `statusReason`.
DISCONNECT_REASONS = {
    401: "Logged out on the phone — scan again",
    403: "WhatsApp refused the connection (the number may be banned)",
    408: "Connection to WhatsApp timed out",
    411: "Multi-device mismatch — scan again",
    428: "Connection closed (QR code not scanned in time) — connect again",
    440: "Session replaced: the number was opened on another server",
    500: "Bad session — disconnect and scan again",
    503: "WhatsApp is unavailable",
    515: "Restart required — reconnecting",
}

DELIVERY_STATES = {
    "PENDING": DeliveryStatus.queued,
    "SERVER_ACK": DeliveryStatus.sent,
    "DELIVERY_ACK": DeliveryStatus.delivered,
    "READ": DeliveryStatus.read,
    "PLAYED": DeliveryStatus.read,
    "ERROR": DeliveryStatus.failed,
}
# Baileys' numeric WebMessageInfo.Status, sent by some versions instead of the names.
_NUMERIC_STATES = ["ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED"]

_MEDIA_TYPES = {
    "imageMessage": MessageType.image,
    "audioMessage": MessageType.audio,
    "videoMessage": MessageType.video,
    "ptvMessage": MessageType.video,
    "documentMessage": MessageType.document,
    "stickerMessage": MessageType.sticker,
}
# Containers whose `message` holds the real content.
_WRAPPERS = {
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
}
# Keys Evolution adds next to the content, never the content itself.
_NOT_CONTENT = {"messageContextInfo", "base64", "mediaUrl", "senderKeyDistributionMessage"}
# Not chats: contacts' status stories and channels.
_NOT_CHATS = ("@broadcast", "@newsletter")
_REVOKE = ("REVOKE", 0)
_EDIT = ("MESSAGE_EDIT", 14)


def parse(body: bytes) -> list[ProviderEvent]:
    envelope = load_object(body)
    event = req_str(envelope, "event", "body")
    if "data" not in envelope:
        raise WebhookRejected("body.data is missing")
    data = envelope["data"]
    name = event.strip().lower().replace("_", ".").replace("-", ".")
    when = iso_datetime(envelope.get("date_time"))
    if name == "messages.upsert":
        return [m for item, where in _items(data) if (m := _upsert(item, where))]
    if name == "messages.update":
        return [u for item, where in _items(data) if (u := _update(item, where, when))]
    if name == "send.message":
        return [_echo(item, where) for item, where in _items(data)]
    if name == "connection.update":
        sender = envelope.get("sender")
        return _connection(_obj(data), sender if isinstance(sender, str) else None)
    if name == "qrcode.updated":
        return _qrcode(_obj(data))
    return []  # other events (contacts, chats, presence ...) are acknowledged and ignored


def _obj(data: object, where: str = "body.data") -> JsonObject:
    if not isinstance(data, dict):
        raise WebhookRejected(f"{where} must be an object, not {type_name(data)}")
    return data


def _items(data: object) -> list[tuple[JsonObject, str]]:
    """`data` is one record; some versions batch them in an array."""
    if isinstance(data, list):
        return [(_obj(item, f"body.data[{i}]"), f"body.data[{i}]") for i, item in enumerate(data)]
    return [(_obj(data), "body.data")]


def jid_phone(jid: str | None) -> str | None:
    """Digits of a phone JID (`5511...:3@s.whatsapp.net` → `5511...`); None for lid/group ids."""
    if not jid or not jid.endswith("@s.whatsapp.net"):
        return None
    return digits(jid.split("@", 1)[0].split(":", 1)[0]) or None


def _upsert(data: JsonObject, where: str) -> InboundMessage | None:
    key = req_obj(data, "key", where)
    kw = f"{where}.key"
    message_id = req_str(key, "id", kw)
    remote = req_str(key, "remoteJid", kw)
    if remote.endswith(_NOT_CHATS):
        return None
    alt = opt_str(key, "remoteJidAlt", kw)
    from_me = opt_bool(key, "fromMe", kw)
    is_group = remote.endswith("@g.us")
    extra: dict[str, Any] = {}
    if is_group:
        chat_id = remote
        participant = opt_str(key, "participant", kw)
        participant_alt = opt_str(key, "participantAlt", kw) or opt_str(key, "participantPn", kw)
        sender_id = participant or participant_alt or remote
        phone = jid_phone(participant) or jid_phone(participant_alt)
    else:
        # @lid chats: the phone JID is in remoteJidAlt (v2.3.6) or, in later versions, in
        # remoteJid with the lid in remoteJidAlt. Prefer the phone JID so both are one contact.
        phone = jid_phone(remote) or jid_phone(alt)
        chat_id = remote if jid_phone(remote) or not jid_phone(alt) else str(alt)
        sender_id = chat_id
        lid = next((j for j in (remote, alt) if j and j.endswith("@lid")), None)
        if lid:
            extra["lid"] = lid
    push_name = opt_str(data, "pushName", where)
    if "messageTimestamp" in data and data["messageTimestamp"] is not None:
        timestamp = unix_seconds(data["messageTimestamp"], f"{where}.messageTimestamp")
    else:
        timestamp = datetime.now(UTC)
    message = opt_obj(data, "message", where)
    fields = _content(message, opt_str(data, "messageType", where), f"{where}.message")
    context = opt_obj(data, "contextInfo", where)
    reply_to = fields.pop("reply_to", None) or opt_str(context, "stanzaId", f"{where}.contextInfo")
    fields_extra = fields.pop("extra", {})
    if fields["type"] is None:
        return None
    return InboundMessage(
        provider_message_id=message_id,
        chat_id=chat_id,
        sender_id=sender_id,
        phone=phone,
        sender_name=None if from_me else (push_name or None),
        timestamp=timestamp,
        from_me=from_me,
        is_group=is_group,
        reply_to=reply_to or None,
        extra={**extra, **fields_extra},
        **fields,
    )


def _first_content(message: JsonObject, hint: str | None) -> tuple[str, Any]:
    if hint and hint in message and hint not in _NOT_CONTENT:
        return hint, message[hint]
    for name, value in message.items():
        if name not in _NOT_CONTENT and value is not None:
            return name, value
    return hint or "empty", None


def _content(message: JsonObject, hint: str | None, where: str, depth: int = 0) -> dict[str, Any]:
    """InboundMessage keyword fields for the content in `message` (type, text, media ...)."""
    name, body = _first_content(message, hint)
    if name == "conversation":
        if not isinstance(body, str):
            raise WebhookRejected(f"{where}.conversation must be a string, not {type_name(body)}")
        return {"type": MessageType.text, "text": body, "provider_type": name}
    if not isinstance(body, dict):
        return {"type": MessageType.unsupported, "provider_type": name}
    at = f"{where}.{name}"
    reply_to = opt_str(opt_obj(body, "contextInfo", at), "stanzaId", f"{at}.contextInfo")
    fields = _content_fields(message, name, body, at, depth)
    if reply_to and "reply_to" not in fields:
        fields["reply_to"] = reply_to
    fields.setdefault("provider_type", name)
    return fields


def _content_fields(
    message: JsonObject, name: str, body: JsonObject, at: str, depth: int
) -> dict[str, Any]:
    if name in _WRAPPERS or name == "editedMessage":
        inner = opt_obj(body, "message", at)
        if depth > 4 or not inner:
            return {"type": MessageType.unsupported}
        fields = _content(inner, None, f"{at}.message", depth + 1)
        if name == "documentWithCaptionMessage":
            fields["provider_type"] = name
        return fields
    if name == "extendedTextMessage":
        return {"type": MessageType.text, "text": opt_str(body, "text", at) or ""}
    if name in _MEDIA_TYPES:
        return _media(message, name, body, at)
    if name in ("locationMessage", "liveLocationMessage"):
        place, address = opt_str(body, "name", at), opt_str(body, "address", at)
        location = {
            "latitude": opt_number(body, "degreesLatitude", at),
            "longitude": opt_number(body, "degreesLongitude", at),
            "name": place,
            "address": address,
        }
        text = " — ".join(v for v in (place, address) if v) or None
        return {"type": MessageType.location, "text": text, "extra": location}
    if name in ("contactMessage", "contactsArrayMessage"):
        cards = opt_list(body, "contacts", at) if name == "contactsArrayMessage" else [body]
        names = [c.get("displayName") for c in cards if isinstance(c, dict)]
        vcards = [c.get("vcard") for c in cards if isinstance(c, dict)]
        text = opt_str(body, "displayName", at) or ", ".join(n for n in names if isinstance(n, str))
        valid = [v for v in vcards if isinstance(v, str)]
        return {"type": MessageType.contact, "text": text or None, "extra": {"vcards": valid}}
    if name == "reactionMessage":
        target = opt_obj(body, "key", at)
        return {
            "type": MessageType.reaction,
            "text": opt_str(body, "text", at) or "",  # "" removes the reaction
            "reaction_to": opt_str(target, "id", f"{at}.key"),
        }
    if name == "protocolMessage":
        return _protocol(body, at, depth)
    return {"type": MessageType.unsupported}


def _media(message: JsonObject, name: str, body: JsonObject, at: str) -> dict[str, Any]:
    kind = _MEDIA_TYPES[name]
    inline = opt_str(message, "base64", "message")
    stored_url = opt_str(message, "mediaUrl", "message")  # Evolution's S3/MinIO copy
    cdn_url = opt_str(body, "url", at)
    size = opt_number(body, "fileLength", at)
    default_mime = {"image": "image/jpeg", "sticker": "image/webp", "audio": "audio/ogg"}
    media = InboundMedia(
        mime_type=opt_str(body, "mimetype", at)
        or default_mime.get(kind, "application/octet-stream"),
        data_base64=inline or None,
        url=stored_url or cdn_url or None,
        filename=opt_str(body, "fileName", at),
        size=int(size) if size is not None and size >= 0 else None,
        voice_note=name == "audioMessage" and opt_bool(body, "ptt", at),
    )
    fields: dict[str, Any] = {"type": kind, "media": media}
    caption = opt_str(body, "caption", at)
    if caption:
        fields["text"] = caption
    if not stored_url and cdn_url:
        # WhatsApp's CDN files are end-to-end encrypted (.enc): not usable without the media key.
        fields["extra"] = {"media_encrypted": True}
    return fields


def _protocol(body: JsonObject, at: str, depth: int) -> dict[str, Any]:
    kind = body.get("type")
    if isinstance(kind, bool):
        kind = None
    target = opt_str(opt_obj(body, "key", at), "id", f"{at}.key")
    if kind in _REVOKE and target:
        return {"type": MessageType.unsupported, "deletes": target}
    if kind in _EDIT and target and depth <= 4:
        edited = opt_obj(body, "editedMessage", at)
        fields = _content(edited, None, f"{at}.editedMessage", depth + 1) if edited else {}
        fields.setdefault("type", MessageType.text)
        fields["edit_of"] = target
        return fields
    # Other protocol messages (history sync, key shares ...) are WhatsApp's own signalling.
    return {"type": None}


def _update(data: JsonObject, where: str, when: datetime | None) -> StatusUpdate | None:
    key = opt_obj(data, "key", where)
    message_id = opt_str(data, "keyId", where) or opt_str(key, "id", f"{where}.key")
    if not message_id:
        raise WebhookRejected(f"{where}.keyId is missing")
    raw = data.get("status")
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(_NUMERIC_STATES):
        raw = _NUMERIC_STATES[raw]
    if raw is not None and not isinstance(raw, str):
        raise WebhookRejected(f"{where}.status must be a string, not {type_name(raw)}")
    status = DELIVERY_STATES.get((raw or "").upper())
    if status is None:
        return None  # an update without a delivery state (e.g. an edit): nothing to record
    chat = opt_str(data, "remoteJid", where) or opt_str(key, "remoteJid", f"{where}.key")
    failed = status is DeliveryStatus.failed
    error = "WhatsApp reported an error delivering this message" if failed else None
    return StatusUpdate(message_id, status, timestamp=when, error=error, chat_id=chat)


def _echo(data: JsonObject, where: str) -> OutboundEcho:
    key = req_obj(data, "key", where)
    return OutboundEcho(
        provider_message_id=req_str(key, "id", f"{where}.key"),
        chat_id=req_str(key, "remoteJid", f"{where}.key"),
    )


def disconnect_reason(code: object) -> str | None:
    if isinstance(code, int) and not isinstance(code, bool):
        return DISCONNECT_REASONS.get(code, f"Connection closed (code {code})")
    return None


def connection_status(state: str) -> InstanceStatus | None:
    return {
        "open": InstanceStatus.connected,
        "connecting": InstanceStatus.connecting,
        "close": InstanceStatus.disconnected,
        "refused": InstanceStatus.error,
    }.get(state)


def _connection(data: JsonObject, sender: str | None) -> list[ProviderEvent]:
    state = req_str(data, "state", "body.data")
    status = connection_status(state)
    if status is None:
        return []
    if status is InstanceStatus.connected:
        wuid = opt_str(data, "wuid", "body.data")
        return [ConnectionUpdate(status, phone=jid_phone(wuid) or jid_phone(sender))]
    if status is InstanceStatus.connecting:
        return [ConnectionUpdate(status)]
    reason = disconnect_reason(data.get("statusReason"))
    if status is InstanceStatus.error:
        reason = reason or "WhatsApp refused the connection"
    return [ConnectionUpdate(status, reason=reason or "Connection closed")]


def _qrcode(data: JsonObject) -> list[ProviderEvent]:
    if "qrcode" not in data and "message" in data:
        message = opt_str(data, "message", "body.data") or "QR code limit reached"
        return [ConnectionUpdate(InstanceStatus.error, reason=message)]
    qrcode = req_obj(data, "qrcode", "body.data")
    code = opt_str(qrcode, "code", "body.data.qrcode")
    return [QrUpdate(code)] if code else []
