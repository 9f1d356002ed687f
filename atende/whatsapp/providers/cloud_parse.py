"""Meta WhatsApp Cloud API webhook bodies → normalised events.

`entry[].changes[].value` holds `metadata.phone_number_id`, `messages[]` with `contacts[]`, or
`statuses[]`. Only values for the instance's own phone number id are read (one app may serve
several numbers through one callback URL).
"""

from typing import Any

from atende.whatsapp.providers.base import (
    DeliveryStatus,
    InboundMedia,
    InboundMessage,
    MessageType,
    ProviderEvent,
    StatusUpdate,
    WebhookRejected,
)
from atende.whatsapp.providers.wire import (
    JsonObject,
    digits,
    load_object,
    opt_list,
    opt_number,
    opt_obj,
    opt_str,
    req_obj,
    req_str,
    type_name,
    unix_seconds,
)

_MEDIA_TYPES = {
    "image": MessageType.image,
    "audio": MessageType.audio,
    "video": MessageType.video,
    "document": MessageType.document,
    "sticker": MessageType.sticker,
}
_STATUSES = {
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.read,
    "failed": DeliveryStatus.failed,
}
# Plain-language reasons for the errors an operator can act on.
ERROR_HINTS = {
    131047: "More than 24 hours have passed since the customer last wrote: only approved "
    "templates can be sent until they write again",
    131026: "Message undeliverable: the number may not be on WhatsApp or must accept the "
    "latest terms",
    131051: "Message type not supported",
    131052: "The customer's media could not be downloaded",
    131053: "The media could not be uploaded",
    130472: "Not delivered: the customer is part of an experiment limiting marketing messages",
    131049: "Not delivered to keep a healthy ecosystem (too many marketing messages)",
    190: "The access token is invalid or expired",
}


def error_text(error: JsonObject) -> str:
    """`{code, title, message, error_data: {details}}` (statuses and Graph errors) as one line."""
    code = error.get("code")
    message = error.get("message") or error.get("title")
    details = error.get("error_data", {})
    detail = details.get("details") if isinstance(details, dict) else None
    parts = [ERROR_HINTS.get(code, "") if isinstance(code, int) else ""]
    if isinstance(message, str) and message:
        parts.append(message)
    if isinstance(detail, str) and detail and detail != message:
        parts.append(detail)
    text = ". ".join(p.rstrip(".") for p in parts if p) or "unknown error"
    return f"{text} ({code})" if isinstance(code, int | str) and code != "" else text


def parse(body: bytes, phone_number_id: str) -> list[ProviderEvent]:
    payload = load_object(body)
    entries = payload.get("entry")
    if not isinstance(entries, list):
        if "entry" not in payload:
            raise WebhookRejected("body.entry is missing")
        raise WebhookRejected(f"body.entry must be an array, not {type_name(entries)}")
    events: list[ProviderEvent] = []
    for i, entry in enumerate(entries):
        where = f"body.entry[{i}]"
        if not isinstance(entry, dict):
            raise WebhookRejected(f"{where} must be an object, not {type_name(entry)}")
        for j, change in enumerate(opt_list(entry, "changes", where)):
            at = f"{where}.changes[{j}]"
            if not isinstance(change, dict):
                raise WebhookRejected(f"{at} must be an object, not {type_name(change)}")
            if change.get("field", "messages") != "messages":
                continue  # account, template and quality updates are not ours to handle
            value = req_obj(change, "value", at)
            metadata = opt_obj(value, "metadata", f"{at}.value")
            if opt_str(metadata, "phone_number_id", f"{at}.value.metadata") != phone_number_id:
                continue
            events.extend(_value(value, f"{at}.value"))
    return events


def _value(value: JsonObject, where: str) -> list[ProviderEvent]:
    names: dict[str, str] = {}
    for k, contact in enumerate(opt_list(value, "contacts", where)):
        if isinstance(contact, dict):
            at = f"{where}.contacts[{k}]"
            wa_id = opt_str(contact, "wa_id", at)
            name = opt_str(opt_obj(contact, "profile", at), "name", f"{at}.profile")
            if wa_id and name:
                names[wa_id] = name
    events: list[ProviderEvent] = []
    for k, message in enumerate(opt_list(value, "messages", where)):
        events.append(_message(_obj(message, f"{where}.messages[{k}]"), names, where, k))
    for k, status in enumerate(opt_list(value, "statuses", where)):
        update = _status(_obj(status, f"{where}.statuses[{k}]"), f"{where}.statuses[{k}]")
        if update:
            events.append(update)
    return events


def _obj(value: object, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise WebhookRejected(f"{where} must be an object, not {type_name(value)}")
    return value


def _message(message: JsonObject, names: dict[str, str], where: str, k: int) -> InboundMessage:
    at = f"{where}.messages[{k}]"
    sender = req_str(message, "from", at)
    kind = req_str(message, "type", at)
    context = opt_obj(message, "context", at)
    fields = _content(message, kind, at)
    extra = fields.pop("extra", {})
    if context.get("forwarded") is True:
        extra["forwarded"] = True
    errors = opt_list(message, "errors", at)
    if errors and isinstance(errors[0], dict):
        extra["error"] = error_text(errors[0])
    return InboundMessage(
        provider_message_id=req_str(message, "id", at),
        chat_id=sender,
        sender_id=sender,
        phone=digits(sender) or None,
        sender_name=names.get(sender),
        timestamp=unix_seconds(message.get("timestamp"), f"{at}.timestamp"),
        reply_to=opt_str(context, "id", f"{at}.context"),
        provider_type=kind,
        extra=extra,
        **fields,
    )


def _content(message: JsonObject, kind: str, at: str) -> dict[str, Any]:
    if kind == "contacts":  # an array, unlike every other type's content object
        cards = [c for c in opt_list(message, "contacts", at) if isinstance(c, dict)]
        names = [n.get("formatted_name") for c in cards if isinstance(n := c.get("name"), dict)]
        text = ", ".join(n for n in names if isinstance(n, str)) or None
        return {"type": MessageType.contact, "text": text, "extra": {"contacts": cards}}
    body = opt_obj(message, kind, at) if kind in message else {}
    here = f"{at}.{kind}"
    if kind == "text":
        return {"type": MessageType.text, "text": req_str(body, "body", here)}
    if kind in _MEDIA_TYPES:
        media = InboundMedia(
            mime_type=opt_str(body, "mime_type", here) or "application/octet-stream",
            provider_media_id=req_str(body, "id", here),
            filename=opt_str(body, "filename", here),
            voice_note=body.get("voice") is True,
        )
        return {"type": _MEDIA_TYPES[kind], "text": opt_str(body, "caption", here), "media": media}
    if kind == "location":
        place, address = opt_str(body, "name", here), opt_str(body, "address", here)
        location = {
            "latitude": opt_number(body, "latitude", here),
            "longitude": opt_number(body, "longitude", here),
            "name": place,
            "address": address,
        }
        text = " — ".join(v for v in (place, address) if v) or None
        return {"type": MessageType.location, "text": text, "extra": location}
    if kind == "reaction":
        return {
            "type": MessageType.reaction,
            "text": opt_str(body, "emoji", here) or "",  # no emoji: the reaction was removed
            "reaction_to": req_str(body, "message_id", here),
        }
    if kind == "button":  # a quick-reply button of a template
        return {
            "type": MessageType.text,
            "text": req_str(body, "text", here),
            "extra": {"payload": opt_str(body, "payload", here)},
        }
    if kind == "interactive":
        reply_type = opt_str(body, "type", here) or ""
        reply = opt_obj(body, reply_type, here) if reply_type in body else {}
        title = opt_str(reply, "title", f"{here}.{reply_type}")
        if title:
            return {
                "type": MessageType.text,
                "text": title,
                "extra": {"reply_id": opt_str(reply, "id", f"{here}.{reply_type}")},
            }
    return {"type": MessageType.unsupported}


def _status(status: JsonObject, at: str) -> StatusUpdate | None:
    state = _STATUSES.get(req_str(status, "status", at))
    if state is None:
        return None  # e.g. "deleted" or "warning": nothing to record
    error = None
    if state is DeliveryStatus.failed:
        errors = opt_list(status, "errors", at)
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        error = error_text(first) if first else "Delivery failed"
    stamp = status.get("timestamp")
    return StatusUpdate(
        provider_message_id=req_str(status, "id", at),
        status=state,
        timestamp=unix_seconds(stamp, f"{at}.timestamp") if stamp is not None else None,
        error=error,
        chat_id=opt_str(status, "recipient_id", at),
    )
