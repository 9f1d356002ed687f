"""`GET /api/v1/events`: Server-Sent Events for browsers (session cookie) and API clients (key).

A raw ASGI endpoint: it authenticates with one short database session, answers the headers,
registers the client with the hub and then only waits for the disconnect. The hub writes the
events; the stream itself holds no database session, no queue and no extra task.
"""

import asyncio
import json
import logging

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from atende.core.access import Principal, principal_from_api_key, principal_from_session
from atende.core.csrf import SESSION_COOKIE
from atende.core.errors import PROBLEM_CONTENT_TYPE, InvalidInput, NotAuthenticated, Problem
from atende.core.events import latest_seq, oldest_retained_seq
from atende.realtime.hub import Client, Hub

log = logging.getLogger("atende.realtime")

RAW_SEND_KEY = "atende.raw_send"
RETRY_MS = 2000
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # tell nginx-like proxies not to buffer the stream
]


def last_event_id(request: HTTPConnection) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput("Last-Event-ID must be a sequence number.", field="last_event_id")
    return int(raw)


async def authenticate_stream(
    request: HTTPConnection, *, sessions: bool = True
) -> tuple[Principal, int, bool]:
    """Returns the principal, the seq to resume after, and whether events were lost."""
    database = request.app.state.database
    last_id = last_event_id(request)
    async with database.unit_of_work(write=False) as session:
        principal: Principal | None = None
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            principal = await principal_from_api_key(session, key=authorization[7:].strip())
        elif sessions and (token := request.cookies.get(SESSION_COOKIE)):
            principal = await principal_from_session(session, token=token)
        if principal is None:
            raise NotAuthenticated(
                "Sign in or send an API key to receive events."
                if sessions
                else "Send an API key (Authorization: Bearer) to receive events."
            )
        current = await latest_seq(session, org_id=principal.org_id)
        if last_id is None or last_id >= current:
            return principal, current, False
        oldest = await oldest_retained_seq(session, org_id=principal.org_id)
        lost = oldest is None or last_id < oldest - 1
        return principal, (current if lost else last_id), lost


class EventStream:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            principal, after, lost = await authenticate_stream(request)
        except Problem as problem:
            body = json.dumps(problem.to_dict(request.url.path)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": problem.status,
                    "headers": [(b"content-type", PROBLEM_CONTENT_TYPE.encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        hello = f"retry: {RETRY_MS}\n: connected\n\n"
        if lost:  # resume impossible: the client must reload its state
            hello += f'id: {after}\nevent: reset\ndata: {{"seq":{after}}}\n\n'
        await send({"type": "http.response.body", "body": hello.encode(), "more_body": True})
        client = Client(
            org_id=principal.org_id,
            role=principal.role,
            user_id=principal.user_id,
            # Body chunks skip the middleware chain (which only looks at the response start):
            # each layer would add a coroutine per client per event.
            send=scope.get(RAW_SEND_KEY, send),
            task=asyncio.current_task(),
            last_seq=after,
        )
        # The stream lives for hours: keep nothing in this frame that it no longer needs.
        del request, principal, hello
        self.hub.add(client)
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except asyncio.CancelledError:
            if not client.dropped:
                raise
            # Dropped by the hub as too slow: end here; the client reconnects and resumes.
        finally:
            self.hub.remove(client)


class RawSendCapture:
    """Outermost ASGI wrapper: keeps the server's own `send` in the scope for event streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND_KEY] = send
        await self.app(scope, receive, send)
