"""A loopback server playing Evolution API v2: `apikey` header, instances, webhook, messages.

Answers follow Evolution's shapes, including its error envelope
`{status, error, response: {message: [...]}}`.
"""

import base64
import itertools
import time
from typing import Any

from tests.support.fake_http import FakeHttpServer, Recorded

QR_CODE = "2@FakeQrCodeForTests0123456789,abc=,def=,ghi="


def evolution_error(status: int, error: str, *messages: Any) -> tuple[int, Any]:
    return status, {"status": status, "error": error, "response": {"message": list(messages)}}


class FakeEvolution(FakeHttpServer):
    def __init__(self, api_key: str = "evo-global-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.states: dict[str, str] = {}  # instance name → close | connecting | open
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        # Media of received messages: message id -> (MIME type, bytes), for
        # `getBase64FromMediaMessage`.
        self.media: dict[str, tuple[str, bytes]] = {}

    async def answer(self, rec: Recorded) -> tuple[int, Any]:
        if rec.headers.get("apikey") != self.api_key:
            return evolution_error(401, "Unauthorized", "Unauthorized")
        parts = rec.path.strip("/").split("/")
        if rec.method == "POST" and rec.path == "/instance/create":
            return self._create(rec)
        if len(parts) != 3:
            return evolution_error(404, "Not Found", f"Cannot {rec.method} {rec.path}")
        group, action, name = parts
        if name not in self.states:
            return evolution_error(404, "Not Found", f'The "{name}" instance does not exist')
        body = rec.json if isinstance(rec.json, dict) else {}
        route = (rec.method, group, action)
        if route == ("POST", "webhook", "set"):
            self.webhooks[name] = body.get("webhook", {})
            return 201, {"webhook": {"instanceName": name, "webhook": body.get("webhook")}}
        if route == ("GET", "instance", "connect"):
            if self.states[name] == "open":
                return 200, {"instance": {"instanceName": name, "state": "open"}}
            self.states[name] = "connecting"
            return 200, {
                "pairingCode": None,
                "code": QR_CODE,
                "base64": "data:image/png;base64,iVBORw0KGgo=",
                "count": 1,
            }
        if route == ("GET", "instance", "connectionState"):
            return 200, {"instance": {"instanceName": name, "state": self.states[name]}}
        if route == ("DELETE", "instance", "logout"):
            if self.states[name] != "open":
                return evolution_error(
                    400, "Bad Request", f'The "{name}" instance is not connected'
                )
            self.states[name] = "close"
            return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Logged out"}}
        if route == ("POST", "message", "sendText"):
            return self._sent(body, ("number", "text"), {"conversation": body.get("text")})
        if route == ("POST", "message", "sendMedia"):
            kind = f"{body.get('mediatype')}Message"
            return self._sent(body, ("number", "mediatype", "media"), {kind: {}})
        if route == ("POST", "chat", "sendPresence"):
            if body.get("presence") not in ("composing", "recording", "paused", "available"):
                return evolution_error(400, "Bad Request", "presence is invalid")
            return 201, {"presence": body["presence"]}
        if route == ("POST", "chat", "markMessageAsRead"):
            if not isinstance(body.get("readMessages"), list):
                return evolution_error(400, "Bad Request", "readMessages is required")
            return 201, {"message": "Read messages", "read": "success"}
        if route == ("POST", "chat", "getBase64FromMediaMessage"):
            return self._base64(body)
        return evolution_error(404, "Not Found", f"Cannot {rec.method} {rec.path}")

    def _base64(self, body: dict[str, Any]) -> tuple[int, Any]:
        message = body.get("message")
        key = message.get("key") if isinstance(message, dict) else None
        message_id = key.get("id") if isinstance(key, dict) else None
        if not isinstance(message_id, str) or message_id not in self.media:
            return evolution_error(400, "Bad Request", "Message not found")
        mime, data = self.media[message_id]
        return 201, {
            "mediaType": "imageMessage",
            "fileName": f"{message_id}.{mime.rsplit('/', 1)[-1]}",
            "caption": None,
            "size": {"fileLength": len(data), "height": 1, "width": 1},
            "mimetype": mime,
            "base64": base64.b64encode(data).decode("ascii"),
        }

    def _create(self, rec: Recorded) -> tuple[int, Any]:
        body = rec.json if isinstance(rec.json, dict) else {}
        name = body.get("instanceName")
        if not isinstance(name, str) or not name:
            return evolution_error(400, "Bad Request", "instanceName is required")
        if name in self.states:
            return evolution_error(403, "Forbidden", f'This name "{name}" is already in use.')
        self.states[name] = "close"
        return 201, {
            "instance": {"instanceName": name, "instanceId": f"id-{name}", "status": "created"},
            "hash": "instance-token",
        }

    def _sent(self, body: dict[str, Any], required: tuple[str, ...], message: Any) -> Any:
        missing = [k for k in required if not body.get(k)]
        if missing:
            return evolution_error(400, "Bad Request", *(f"{k} is required" for k in missing))
        number = str(body["number"])
        jid = number if "@" in number else f"{number}@s.whatsapp.net"
        return 201, {
            "key": {"remoteJid": jid, "fromMe": True, "id": f"3EB0FAKE{next(self._ids):012d}"},
            "pushName": "",
            "status": "PENDING",
            "message": message,
            "messageTimestamp": int(time.time()),
        }
