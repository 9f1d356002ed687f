"""Routes of the realtime module."""

from starlette.routing import BaseRoute, Route

from atende.realtime.hub import Hub
from atende.realtime.sse import EventStream


def event_routes(hub: Hub) -> list[BaseRoute]:
    return [Route("/api/v1/events", EventStream(hub), methods=["GET"], name="events")]
