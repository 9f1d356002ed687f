"""A loopback server playing the WhatsApp Cloud API part of the Graph API.

Bearer token, `/{version}/{phone_number_id}`, `/messages` and `/media`; errors use Graph's
envelope `{"error": {message, type, code, error_data, fbtrace_id}}`.
"""

import hashlib
import itertools
from typing import Any

from starlette.responses import Response

from tests.support.fake_http import FakeHttpServer, Recorded

# Where Graph's short-lived media URLs point (lookaside.fbsbx.com in production).
DOWNLOAD_PATH = "/whatsapp_business/attachments/"


def graph_error(status: int, code: int, message: str, details: str | None = None) -> Any:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return status, {"error": error}


class FakeGraph(FakeHttpServer):
    def __init__(
        self,
        *,
        token: str = "EAAG-test-token",
        phone_number_id: str = "106540352242922",
        version: str = "v21.0",
        display_phone_number: str = "+1 555-078-3881",
    ) -> None:
        super().__init__()
        self.token = token
        self.phone_number_id = phone_number_id
        self.version = version
        self.display_phone_number = display_phone_number
        self._ids = itertools.count(1)
        # Media customers sent: media id -> (MIME type, bytes); `GET /{version}/{media_id}`
        # answers a download URL, which serves the bytes to the same Bearer token.
        self.media: dict[str, tuple[str, bytes]] = {}

    async def answer(self, rec: Recorded) -> tuple[int, Any]:
        if rec.headers.get("authorization") != f"Bearer {self.token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if rec.path == DOWNLOAD_PATH:
            found = self.media.get(rec.query.get("mid", ""))
            if found is None:
                return graph_error(404, 100, "(#100) Media not found")
            return 200, Response(found[1], media_type=found[0])
        parts = rec.path.strip("/").split("/")
        if (
            rec.method == "GET"
            and parts[0] == self.version
            and parts[1:]
            and parts[1] in self.media
        ):
            mime, data = self.media[parts[1]]
            return 200, {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}{DOWNLOAD_PATH}?mid={parts[1]}&ext=1749416500",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": parts[1],
            }
        if parts[0] != self.version or len(parts) < 2:
            return graph_error(400, 2500, "Unknown path components")
        if parts[1] != self.phone_number_id:
            return graph_error(
                400, 100, f"Unsupported request. Object with ID '{parts[1]}' does not exist"
            )
        edge = parts[2] if len(parts) > 2 else ""
        if rec.method == "GET" and edge == "":
            return 200, {
                "display_phone_number": self.display_phone_number,
                "verified_name": "Loja X",
                "id": self.phone_number_id,
            }
        if rec.method == "POST" and edge == "messages":
            return self._messages(rec)
        if rec.method == "POST" and edge == "media":
            if rec.form.get("messaging_product") != "whatsapp" or "file" not in rec.files:
                return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
            return 200, {"id": f"media-{next(self._ids)}"}
        return graph_error(400, 100, "(#100) Unsupported request")

    def _messages(self, rec: Recorded) -> tuple[int, Any]:
        body = rec.json if isinstance(rec.json, dict) else {}
        if body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        if body.get("status") == "read":
            if not body.get("message_id"):
                return graph_error(400, 100, "(#100) The parameter message_id is required.")
            return 200, {"success": True}
        kind = body.get("type")
        if not body.get("to") or not isinstance(kind, str) or not isinstance(body.get(kind), dict):
            return graph_error(400, 100, "(#100) Invalid parameter")
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.FAKE{next(self._ids):08d}"}],
        }
