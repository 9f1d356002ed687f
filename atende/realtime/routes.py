"""Routes of the realtime module."""

from starlette.routing import BaseRoute

from atende.core.routing import AsgiRoute
from atende.realtime.hub import Hub
from atende.realtime.sse import EventStream


def event_routes(hub: Hub) -> list[BaseRoute]:
    return [AsgiRoute("/api/v1/events", EventStream(hub), methods=["GET"], name="events")]
