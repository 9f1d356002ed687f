"""Routes of the realtime module."""

from starlette.routing import BaseRoute, WebSocketRoute

from atende.core.routing import AsgiRoute
from atende.realtime.hub import Hub
from atende.realtime.sse import EventStream
from atende.realtime.ws import EventSocket


def event_routes(hub: Hub) -> list[BaseRoute]:
    return [
        AsgiRoute("/api/v1/events", EventStream(hub), methods=["GET"], name="events"),
        WebSocketRoute("/api/v1/ws", EventSocket(hub), name="events_ws"),
    ]
