"""Pure ASGI middleware: request id, access log and metrics; request body size limit.

Pure ASGI (not `BaseHTTPMiddleware`) so long-lived streams pass through without a task or a
queue per request, which matters when one process holds thousands of SSE clients.
"""

import itertools
import json
import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atende.core.csrf import CSRF_COOKIE
from atende.core.errors import PROBLEM_CONTENT_TYPE, PayloadTooLarge
from atende.core.logging import request_id_var
from atende.core.metrics import Metrics

log = logging.getLogger("atende.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Request ids: a random per-process prefix and a counter (uuid4 costs a system call each).
_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _csrf_cookie(token: str, scope: Scope) -> bytes:
    # Readable by our own scripts (they echo it in a header); SameSite=Strict: never sent
    # cross-site.
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    return f"{CSRF_COOKIE}={token}; Path=/; SameSite=Strict; Max-Age=31536000{secure}".encode()


class RequestContextMiddleware:
    """Request id, the CSRF cookie when a new token was minted, metrics, one access log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else f"{_ID_PREFIX}{next(_ids):08x}"
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        streaming = False
        self.metrics.in_flight.inc()

        async def send_with_context(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if csrf := scope.get("state", {}).get("new_csrf_token"):
                    headers.append((b"set-cookie", _csrf_cookie(csrf, scope)))
                message["headers"] = headers
                streaming = any(
                    k == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers
                )
                if streaming:  # streams are counted by their own gauge, not as in-flight work
                    self.metrics.in_flight.dec()
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            if not streaming:
                self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            if not streaming:
                self.metrics.latency.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Answers 413 for bodies over the limit, by Content-Length or by counting chunked bodies.

    Before answering, the rest of the body is read and discarded (up to `DRAIN_FACTOR` times
    the limit): closing a connection with unread data makes the kernel reset it, and the
    client would then see a broken connection instead of the 413.
    """

    DRAIN_FACTOR = 8

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Larger allowances for some paths (regular expressions matched at the start): provider
        # webhooks carry media inline, people upload files.
        self.per_path = [
            (re.compile(pattern), limit) for pattern, limit in (per_path or {}).items()
        ]

    def _limit_for(self, path: str) -> int:
        for pattern, limit in self.per_path:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                if length.isdigit() and int(length) <= limit * self.DRAIN_FACTOR:
                    await self._drain(receive, 0, limit)
                await self._reject(scope, send, limit)
                return
            await self.app(scope, receive, send)
            return
        # No length: read up to the limit, then replay what was read to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await self._drain(receive, size, limit)
                await self._reject(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, size: int, limit: int) -> None:
        """Reads and drops the rest of a refused body, up to the drain allowance."""
        while size <= limit * self.DRAIN_FACTOR:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        problem = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        log.warning("body too large", extra={"path": scope["path"]})
        body = json.dumps(problem.to_dict(scope["path"])).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
