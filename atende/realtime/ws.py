"""`GET /api/v1/ws`: the live events over a WebSocket, for API clients (API key).

The same events as the SSE stream, each a JSON text frame `{"seq", "type", "at", "data"}`,
written by the hub like SSE frames (no queue or task per client). Resume after a reconnect with
`?last_event_id=<seq>`; when what was missed is no longer stored, a `{"type": "reset"}` frame
comes first and the client must reload its state. Browsers use SSE: a WebSocket is not bound by
the same-origin rules cookies rely on, so only `Authorization: Bearer <key>` is accepted here.
The server pings the socket itself (uvicorn's keep-alive), so there are no heartbeat frames.
"""

import asyncio
import json

from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from atende.core.errors import PROBLEM_CONTENT_TYPE, Problem
from atende.realtime.hub import Client, Hub, websocket_text
from atende.realtime.sse import authenticate_stream

DENIAL = "websocket.http.response"


async def _deny(scope: Scope, send: Send, problem: Problem) -> None:
    """An HTTP answer to the handshake where the server supports it, else a close code 4xxx."""
    if DENIAL in scope.get("extensions", {}):
        body = json.dumps(problem.to_dict(scope["path"])).encode()
        await send(
            {
                "type": f"{DENIAL}.start",
                "status": problem.status,
                "headers": [(b"content-type", PROBLEM_CONTENT_TYPE.encode())],
            }
        )
        await send({"type": f"{DENIAL}.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 4000 + problem.status})


class EventSocket:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            principal, after, lost = await authenticate_stream(
                HTTPConnection(scope, receive), sessions=False
            )
        except Problem as problem:
            await _deny(scope, send, problem)
            return
        await send({"type": "websocket.accept"})
        hello = {"type": "hello", "seq": after}
        await send(websocket_text(json.dumps(hello)))
        if lost:  # resume impossible: the client must reload its state
            await send(websocket_text(json.dumps({"type": "reset", "seq": after})))
        client = Client(
            org_id=principal.org_id,
            role=principal.role,
            user_id=principal.user_id,
            send=send,
            task=asyncio.current_task(),
            last_seq=after,
            websocket=True,
        )
        del principal
        self.hub.add(client)
        try:
            # Frames from the client carry nothing; read them only to notice the disconnect.
            while (await receive())["type"] != "websocket.disconnect":
                pass
        except asyncio.CancelledError:
            if not client.dropped:
                raise
        finally:
            self.hub.remove(client)
